//! Search-term normalisation: indexing and querying must agree exactly, because the index
//! holds only keyed hashes of the terms.

use frontdesk_domain::search::{MAX_QUERY_TERMS, MAX_TERM_CHARS, MAX_TERMS, query_terms, terms};

#[test]
fn empty_and_punctuation_only() {
    assert!(terms("").is_empty());
    assert!(terms("  ...!?—  ").is_empty());
    assert!(query_terms("").is_empty());
}

#[test]
fn diacritics_and_case_fold() {
    assert_eq!(terms("JOSÉ Müller Çelik Ñandú"), ["jose", "muller", "celik", "nandu"]);
    // Precomposed and decomposed forms give the same term.
    assert_eq!(terms("Jose\u{301}"), terms("José"));
    // Compatibility forms fold too.
    assert_eq!(terms("ﬁle №５ ＡＢ"), ["file", "no5", "ab"]);
}

#[test]
fn punctuation_and_emoji_split() {
    assert_eq!(terms("Can't make it!!! 😢 see you @ 3:30pm"), ["can", "make", "it", "see", "you", "30pm"]);
    assert_eq!(terms("call 555-123-4567"), ["call", "555", "123", "4567"]);
    assert_eq!(terms("e-mail:x@y.co"), ["mail", "co"]);
    assert_eq!(terms("👍👍👍"), Vec::<String>::new());
}

#[test]
fn other_scripts_are_terms() {
    assert_eq!(terms("Привет, МИР"), ["привет", "мир"]);
    assert_eq!(terms("予約 確認"), ["予約", "確認"]);
    assert_eq!(terms("مرحبا"), ["مرحبا"]);
}

#[test]
fn digits_of_length_two_or_more_are_kept() {
    assert_eq!(terms("on 3/12 at 9 or 10"), ["on", "12", "at", "or", "10"]);
}

#[test]
fn duplicates_keep_first_seen_order() {
    assert_eq!(terms("Yes yes YES no Yes"), ["yes", "no"]);
}

#[test]
fn caps() {
    let long = format!("{} tail", "a".repeat(100));
    let t = terms(&long);
    assert_eq!(t[0].chars().count(), MAX_TERM_CHARS);
    assert_eq!(t[1], "tail");
    // A term cut to 32 characters matches a query cut the same way.
    assert_eq!(query_terms(&"a".repeat(40)), [t[0].clone()]);

    let many: String = (0..500).map(|i| format!("w{i} ")).collect();
    let t = terms(&many);
    assert_eq!(t.len(), MAX_TERMS);
    assert_eq!(t[0], "w0");
    assert_eq!(t[MAX_TERMS - 1], format!("w{}", MAX_TERMS - 1));
    assert_eq!(query_terms(&many).len(), MAX_QUERY_TERMS);
}

#[test]
fn query_uses_the_same_normalisation() {
    assert_eq!(query_terms("  Jósé  REFILL? "), ["jose", "refill"]);
    assert_eq!(query_terms("a b c dd ee ff gg hh ii jj kk ll"), ["dd", "ee", "ff", "gg", "hh", "ii", "jj", "kk"]);
}
