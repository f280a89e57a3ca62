//! Grapheme clusters exactly as Twilio's segment calculator finds them.
//!
//! The calculator (npm `sms-segments-calculator`) never cuts a UCS-2 message inside a
//! grapheme cluster, and it finds clusters with `grapheme-splitter` 1.0.4: UAX #29 as of
//! Unicode 10.0, with that library's own reading of the emoji rules (GB10/GB11 use
//! `E_Base`/`Glue_After_Zwj`, not today's `Extended_Pictographic`). A modern segmenter would
//! disagree on newer emoji ZWJ sequences and skin tones, and so on where segments start, so
//! this is a faithful port of that library instead: same property table (generated from it,
//! see `grapheme_table.rs`) and same break function, including its quirks, computed
//! incrementally so that a long run of combining marks stays linear.

use super::grapheme_table::BREAK_PROPERTIES;
use std::ops::Range;

/// Grapheme_Cluster_Break property values of Unicode 10.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Property {
    Cr,
    Lf,
    Control,
    Extend,
    RegionalIndicator,
    SpacingMark,
    L,
    V,
    T,
    Lv,
    Lvt,
    Other,
    Prepend,
    EBase,
    EModifier,
    Zwj,
    GlueAfterZwj,
    EBaseGaz,
}

use Property::*;

fn property(c: char) -> Property {
    let code = u32::from(c);
    match BREAK_PROPERTIES.binary_search_by(|&(first, last, _)| {
        if last < code {
            std::cmp::Ordering::Less
        } else if first > code {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    }) {
        Ok(index) => BREAK_PROPERTIES[index].2,
        Err(_) => Other,
    }
}

/// What the break rules need to know about the cluster built so far (grapheme-splitter's
/// `[start, ...mid]` list), kept as running summaries instead of the list itself.
struct Cluster {
    start: Property,
    /// Number of code points in the cluster.
    len: usize,
    previous: Property,
    before_previous: Option<Property>,
    last_e_modifier: Option<usize>,
    last_regional: Option<usize>,
    last_extend: Option<usize>,
    /// First index after the start whose property is not `Extend`.
    first_non_extend: Option<usize>,
    /// First index after the start whose property is not `RegionalIndicator`.
    first_non_regional: Option<usize>,
    mid_has_regional: bool,
}

impl Cluster {
    fn new(start: Property) -> Self {
        let at_start = |wanted: Property| (start == wanted).then_some(0);
        Cluster {
            start,
            len: 1,
            previous: start,
            before_previous: None,
            last_e_modifier: at_start(EModifier),
            last_regional: at_start(RegionalIndicator),
            last_extend: at_start(Extend),
            first_non_extend: None,
            first_non_regional: None,
            mid_has_regional: false,
        }
    }

    fn push(&mut self, next: Property) {
        let index = self.len;
        match next {
            EModifier => self.last_e_modifier = Some(index),
            RegionalIndicator => {
                self.last_regional = Some(index);
                self.mid_has_regional = true;
            }
            Extend => self.last_extend = Some(index),
            _ => {}
        }
        if next != Extend && self.first_non_extend.is_none() {
            self.first_non_extend = Some(index);
        }
        if next != RegionalIndicator && self.first_non_regional.is_none() {
            self.first_non_regional = Some(index);
        }
        self.before_previous = Some(self.previous);
        self.previous = next;
        self.len += 1;
    }

    /// `all[1..end]` (the cluster plus `next`) is only `Extend`.
    fn extend_run_until(&self, end: usize) -> bool {
        self.first_non_extend.is_none_or(|first| first >= end)
    }

    /// `all[1..end]` is only `RegionalIndicator`.
    fn regional_run_until(&self, end: usize) -> bool {
        self.first_non_regional.is_none_or(|first| first >= end)
    }

    /// grapheme-splitter's `shouldBreak(start, mid, next)`, rule for rule.
    fn breaks_before(&self, next: Property) -> bool {
        let n = self.len; // index of `next` in `all`
        let previous = self.previous;

        // Look-ahead terminator for GB10.
        let e_modifier = if next == EModifier { Some(n) } else { self.last_e_modifier };
        if let Some(index) = e_modifier
            && index > 1
            && self.extend_run_until(index)
            && !matches!(self.start, Extend | EBase | EBaseGaz)
        {
            return true;
        }
        // Look-ahead terminator for GB12/GB13 (both of its outcomes are breaks).
        let regional = if next == RegionalIndicator { Some(n) } else { self.last_regional };
        if let Some(index) = regional
            && index > 0
            && self.regional_run_until(index)
            && !matches!(previous, Prepend | RegionalIndicator)
        {
            return true;
        }
        // GB3, GB4, GB5.
        if previous == Cr && next == Lf {
            return false;
        }
        if matches!(previous, Control | Cr | Lf) || matches!(next, Control | Cr | Lf) {
            return true;
        }
        // GB6, GB7, GB8: Hangul syllables.
        if previous == L && matches!(next, L | V | Lv | Lvt)
            || matches!(previous, Lv | V) && matches!(next, V | T)
            || matches!(previous, Lvt | T) && next == T
        {
            return false;
        }
        // GB9, GB9a, GB9b.
        if matches!(next, Extend | Zwj | SpacingMark) || previous == Prepend {
            return false;
        }
        // GB10 as grapheme-splitter reads it: the code point before the last Extend (or the
        // previous one when there is none) must be an emoji base, with only Extend after it.
        if next == EModifier {
            let base = match self.last_extend {
                Some(last) if last + 1 == n => self.before_previous,
                Some(_) => None,
                None => Some(previous),
            };
            if matches!(base, Some(EBase | EBaseGaz)) {
                return false;
            }
        }
        // GB11 (Unicode 10 form).
        if previous == Zwj && matches!(next, GlueAfterZwj | EBaseGaz) {
            return false;
        }
        // GB12, GB13.
        if self.mid_has_regional {
            return true;
        }
        if previous == RegionalIndicator && next == RegionalIndicator {
            return false;
        }
        // GB999.
        true
    }
}

/// Byte ranges of the grapheme clusters of `text`, as the calculator sees them: its
/// grapheme-splitter clusters, except that a CR LF pair counts as two (the calculator splits
/// it again so that each of them is a GSM-7 character).
pub(super) fn clusters(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut chars = text.char_indices();
    let Some((_, first)) = chars.next() else {
        return ranges;
    };
    let mut start = 0;
    let mut cluster = Cluster::new(property(first));
    for (index, c) in chars {
        let next = property(c);
        if cluster.breaks_before(next) {
            push_cluster(text, &mut ranges, start..index);
            start = index;
            cluster = Cluster::new(next);
        } else {
            cluster.push(next);
        }
    }
    push_cluster(text, &mut ranges, start..text.len());
    ranges
}

fn push_cluster(text: &str, ranges: &mut Vec<Range<usize>>, range: Range<usize>) {
    if text.get(range.clone()) == Some("\r\n") {
        ranges.push(range.start..range.start + 1);
        ranges.push(range.start + 1..range.end);
    } else {
        ranges.push(range);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        clusters(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn table_is_sorted_and_disjoint() {
        for pair in BREAK_PROPERTIES.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }

    #[test]
    fn properties() {
        assert_eq!(property('a'), Other);
        assert_eq!(property('\r'), Cr);
        assert_eq!(property('\u{301}'), Extend);
        assert_eq!(property('\u{200D}'), Zwj);
        assert_eq!(property('🇮'), RegionalIndicator);
        assert_eq!(property('👨'), EBaseGaz);
        assert_eq!(property('🏽'), EModifier);
        assert_eq!(property('❤'), GlueAfterZwj);
        assert_eq!(property('\u{10FFFF}'), Other);
    }

    #[test]
    fn empty_and_simple() {
        assert!(clusters("").is_empty());
        assert_eq!(split("abc"), ["a", "b", "c"]);
        assert_eq!(split("a\r\nb"), ["a", "\r", "\n", "b"]);
    }

    #[test]
    fn combining_marks_and_hangul() {
        assert_eq!(split("e\u{301}\u{302}x"), ["e\u{301}\u{302}", "x"]);
        // L V T jamo form one syllable.
        assert_eq!(split("\u{1100}\u{1161}\u{11A8}a"), ["\u{1100}\u{1161}\u{11A8}", "a"]);
    }

    #[test]
    fn flags_pair_up() {
        assert_eq!(split("🇮🇹🇫🇷🇩"), ["🇮🇹", "🇫🇷", "🇩"]);
    }

    #[test]
    fn unicode_10_emoji_sequences() {
        // Family: every member is E_Base_GAZ, so ZWJ glues them.
        assert_eq!(split("👨‍👩‍👧‍👦!"), ["👨‍👩‍👧‍👦", "!"]);
        // Skin tone after an emoji base.
        assert_eq!(split("👍🏽"), ["👍🏽"]);
        // 🤝 (U+1F91D) is not Glue_After_Zwj in Unicode 10, so "people holding hands"
        // (a Unicode 12 sequence) is three clusters for the calculator.
        assert_eq!(split("🧑‍🤝‍🧑"), ["🧑\u{200D}", "🤝\u{200D}", "🧑"]);
    }

    #[test]
    fn long_run_of_marks_is_one_cluster() {
        let text = format!("a{}", "\u{301}".repeat(10_000));
        assert_eq!(clusters(&text), vec![0..text.len()]);
    }
}
