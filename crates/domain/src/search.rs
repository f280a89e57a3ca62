//! Normalisation for the keyed token index behind message search (DESIGN.md: the database
//! stores only keyed HMACs of these terms, never the words themselves).
//!
//! Because the index holds hashes, the server can only find exact terms: whatever folding
//! should make "José" match "jose" has to happen here, identically when a message is indexed
//! and when a search box is read. Hence one function, [`normalise`], behind both [`terms`] and
//! [`query_terms`].

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Terms shorter than this are dropped: one letter ("a", "I") finds everything and tells the
/// index's reader which hash is the most common. Two-digit runs ("12" in "12/03") are kept by
/// the same rule, so day and month numbers stay searchable.
pub const MIN_TERM_CHARS: usize = 2;
/// Longer terms are cut: long runs are pasted links or tokens, and a cap keeps the index's
/// rows small. Indexing and querying cut the same way, so a long term still matches itself.
pub const MAX_TERM_CHARS: usize = 32;
/// At most this many distinct terms per message (the longest SMS thread bodies stay under it;
/// the cap bounds the index rows a single hostile message can create).
pub const MAX_TERMS: usize = 200;
/// At most this many terms per search: every term is one index lookup.
pub const MAX_QUERY_TERMS: usize = 8;

/// The index terms of a message body: split on anything that is not a letter or digit (any
/// script), lowercased, diacritics removed (NFKD, combining marks dropped: "José" → "jose",
/// "ﬁle" → "file"), terms under [`MIN_TERM_CHARS`] dropped, each cut to [`MAX_TERM_CHARS`],
/// duplicates removed keeping the first, at most [`MAX_TERMS`].
pub fn terms(text: &str) -> Vec<String> {
    normalise(text, MAX_TERMS)
}

/// The same normalisation for a search box, keeping at most [`MAX_QUERY_TERMS`] terms.
pub fn query_terms(q: &str) -> Vec<String> {
    normalise(q, MAX_QUERY_TERMS)
}

fn normalise(text: &str, max_terms: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut current_chars = 0usize;
    // A trailing sentinel flushes the last term without a second code path.
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)).chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                if current_chars < MAX_TERM_CHARS {
                    current.push(lower);
                    current_chars += 1;
                }
            }
            continue;
        }
        if current_chars >= MIN_TERM_CHARS && !out.contains(&current) {
            out.push(std::mem::take(&mut current));
            if out.len() >= max_terms {
                break;
            }
        }
        current.clear();
        current_chars = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lowercases_and_strips_accents() {
        assert_eq!(terms("Hola José, ¿cómo está?"), ["hola", "jose", "como", "esta"]);
    }

    #[test]
    fn drops_single_characters_keeps_short_digit_runs() {
        assert_eq!(terms("I a 7 see you 12/03"), ["see", "you", "12", "03"]);
    }

    #[test]
    fn long_terms_are_cut() {
        let long = "x".repeat(50);
        assert_eq!(terms(&long), ["x".repeat(MAX_TERM_CHARS)]);
    }
}
