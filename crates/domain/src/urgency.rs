//! Urgent-message detection (issue 5, item 5): a configurable list of phrases, each in a
//! category with its emergency instruction (911, or 988 for suicidal thoughts).
//!
//! Recall matters more than precision here: a missed "I can't breathe" is far worse than a
//! needless 911 reminder, so negations do not suppress a match ("no chest pain anymore" is
//! still flagged, and staff read it). Matching is on whole words after normalisation
//! (lowercase, apostrophes dropped, punctuation as spaces, common SMS spellings), so "can't
//! breathe", "CANT BREATHE!!" and "cant breath" all match.

use serde::{Deserialize, Serialize};

/// What kind of emergency a phrase points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrgencyCategory {
    ChestPain,
    Breathing,
    Stroke,
    Suicidal,
    Bleeding,
    Overdose,
}

impl UrgencyCategory {
    pub const ALL: [UrgencyCategory; 6] = [
        UrgencyCategory::ChestPain,
        UrgencyCategory::Breathing,
        UrgencyCategory::Stroke,
        UrgencyCategory::Suicidal,
        UrgencyCategory::Bleeding,
        UrgencyCategory::Overdose,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UrgencyCategory::ChestPain => "chest_pain",
            UrgencyCategory::Breathing => "breathing",
            UrgencyCategory::Stroke => "stroke",
            UrgencyCategory::Suicidal => "suicidal",
            UrgencyCategory::Bleeding => "bleeding",
            UrgencyCategory::Overdose => "overdose",
        }
    }

    pub fn parse(text: &str) -> Option<UrgencyCategory> {
        UrgencyCategory::ALL.into_iter().find(|c| c.as_str() == text.trim())
    }

    /// The number to call: 988 for suicidal thoughts, 911 otherwise.
    pub fn emergency_number(self) -> &'static str {
        match self {
            UrgencyCategory::Suicidal => "988",
            _ => "911",
        }
    }

    /// The immediate reply to the patient. Contains no quote of their words.
    pub fn instruction(self) -> &'static str {
        match self {
            UrgencyCategory::Suicidal => {
                "If you are thinking about suicide or hurting yourself, please call or text 988 (Suicide & Crisis \
                 Lifeline) now; it is free and open 24/7. If you are in immediate danger, call 911. A team member \
                 has been alerted."
            }
            UrgencyCategory::Stroke => {
                "Face drooping, arm weakness or slurred speech can be a stroke: call 911 now, do not wait. A team \
                 member has been alerted, but texts are not an emergency service."
            }
            UrgencyCategory::Overdose => {
                "If someone may have taken too much of a medicine or drug, call 911 now (or Poison Control \
                 1-800-222-1222 if they are awake and well). A team member has been alerted."
            }
            _ => {
                "If this is a medical emergency, call 911 now or go to the nearest emergency room. A team member \
                 has been alerted, but texts are not an emergency service."
            }
        }
    }
}

/// One phrase of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgentPhrase {
    pub category: UrgencyCategory,
    pub phrase: String,
}

/// The default phrases, per category. Written normalised (lowercase, no apostrophes).
pub const DEFAULT_PHRASES: &[(UrgencyCategory, &str)] = &[
    // Chest pain
    (UrgencyCategory::ChestPain, "chest pain"),
    (UrgencyCategory::ChestPain, "chest pains"),
    (UrgencyCategory::ChestPain, "chest hurts"),
    (UrgencyCategory::ChestPain, "chest is hurting"),
    (UrgencyCategory::ChestPain, "chest hurting"),
    (UrgencyCategory::ChestPain, "chest feels tight"),
    (UrgencyCategory::ChestPain, "chest is tight"),
    (UrgencyCategory::ChestPain, "chest tightness"),
    (UrgencyCategory::ChestPain, "tightness in my chest"),
    (UrgencyCategory::ChestPain, "tight chest"),
    (UrgencyCategory::ChestPain, "pain in my chest"),
    (UrgencyCategory::ChestPain, "pain in chest"),
    (UrgencyCategory::ChestPain, "pressure in my chest"),
    (UrgencyCategory::ChestPain, "chest pressure"),
    (UrgencyCategory::ChestPain, "crushing chest"),
    (UrgencyCategory::ChestPain, "heart attack"),
    (UrgencyCategory::ChestPain, "pain down my left arm"),
    (UrgencyCategory::ChestPain, "pain in my left arm"),
    // Trouble breathing
    (UrgencyCategory::Breathing, "cant breathe"),
    (UrgencyCategory::Breathing, "cant breath"),
    (UrgencyCategory::Breathing, "cannot breathe"),
    (UrgencyCategory::Breathing, "can not breathe"),
    (UrgencyCategory::Breathing, "unable to breathe"),
    (UrgencyCategory::Breathing, "not breathing"),
    (UrgencyCategory::Breathing, "stopped breathing"),
    (UrgencyCategory::Breathing, "trouble breathing"),
    (UrgencyCategory::Breathing, "difficulty breathing"),
    (UrgencyCategory::Breathing, "hard to breathe"),
    (UrgencyCategory::Breathing, "hard to breath"),
    (UrgencyCategory::Breathing, "struggling to breathe"),
    (UrgencyCategory::Breathing, "struggling to breath"),
    (UrgencyCategory::Breathing, "short of breath"),
    (UrgencyCategory::Breathing, "shortness of breath"),
    (UrgencyCategory::Breathing, "gasping for air"),
    (UrgencyCategory::Breathing, "cant catch my breath"),
    (UrgencyCategory::Breathing, "cant get air"),
    (UrgencyCategory::Breathing, "choking"),
    (UrgencyCategory::Breathing, "lips are blue"),
    (UrgencyCategory::Breathing, "lips turning blue"),
    (UrgencyCategory::Breathing, "throat is closing"),
    (UrgencyCategory::Breathing, "throat closing"),
    (UrgencyCategory::Breathing, "throat is swelling"),
    (UrgencyCategory::Breathing, "anaphylaxis"),
    (UrgencyCategory::Breathing, "anaphylactic"),
    // Stroke signs
    (UrgencyCategory::Stroke, "stroke"),
    (UrgencyCategory::Stroke, "face drooping"),
    (UrgencyCategory::Stroke, "face is drooping"),
    (UrgencyCategory::Stroke, "face droop"),
    (UrgencyCategory::Stroke, "face droops"),
    (UrgencyCategory::Stroke, "drooping face"),
    (UrgencyCategory::Stroke, "face is numb"),
    (UrgencyCategory::Stroke, "side of my face"),
    (UrgencyCategory::Stroke, "side of her face"),
    (UrgencyCategory::Stroke, "side of his face"),
    (UrgencyCategory::Stroke, "slurred speech"),
    (UrgencyCategory::Stroke, "slurring"),
    (UrgencyCategory::Stroke, "speech is slurred"),
    (UrgencyCategory::Stroke, "words are slurred"),
    (UrgencyCategory::Stroke, "cant speak"),
    (UrgencyCategory::Stroke, "cant talk right"),
    (UrgencyCategory::Stroke, "arm weakness"),
    (UrgencyCategory::Stroke, "arm is weak"),
    (UrgencyCategory::Stroke, "arm went weak"),
    (UrgencyCategory::Stroke, "weak on one side"),
    (UrgencyCategory::Stroke, "numb on one side"),
    (UrgencyCategory::Stroke, "one side of my body"),
    (UrgencyCategory::Stroke, "cant lift my arm"),
    (UrgencyCategory::Stroke, "cant move my arm"),
    (UrgencyCategory::Stroke, "cant lift his arm"),
    (UrgencyCategory::Stroke, "cant lift her arm"),
    // Suicidal thoughts
    (UrgencyCategory::Suicidal, "suicide"),
    (UrgencyCategory::Suicidal, "suicidal"),
    (UrgencyCategory::Suicidal, "kill myself"),
    (UrgencyCategory::Suicidal, "killing myself"),
    (UrgencyCategory::Suicidal, "end my life"),
    (UrgencyCategory::Suicidal, "end it all"),
    (UrgencyCategory::Suicidal, "take my own life"),
    (UrgencyCategory::Suicidal, "want to die"),
    (UrgencyCategory::Suicidal, "wanna die"),
    (UrgencyCategory::Suicidal, "wish i was dead"),
    (UrgencyCategory::Suicidal, "wish i were dead"),
    (UrgencyCategory::Suicidal, "better off dead"),
    (UrgencyCategory::Suicidal, "better off without me"),
    (UrgencyCategory::Suicidal, "dont want to live"),
    (UrgencyCategory::Suicidal, "dont want to be alive"),
    (UrgencyCategory::Suicidal, "no reason to live"),
    (UrgencyCategory::Suicidal, "not worth living"),
    (UrgencyCategory::Suicidal, "hurt myself"),
    (UrgencyCategory::Suicidal, "hurting myself"),
    (UrgencyCategory::Suicidal, "harm myself"),
    (UrgencyCategory::Suicidal, "self harm"),
    (UrgencyCategory::Suicidal, "self harming"),
    (UrgencyCategory::Suicidal, "cut myself"),
    (UrgencyCategory::Suicidal, "cutting myself"),
    (UrgencyCategory::Suicidal, "kms"),
    // Severe bleeding
    (UrgencyCategory::Bleeding, "bleeding heavily"),
    (UrgencyCategory::Bleeding, "bleeding a lot"),
    (UrgencyCategory::Bleeding, "bleeding badly"),
    (UrgencyCategory::Bleeding, "bleeding really bad"),
    (UrgencyCategory::Bleeding, "bleeding so much"),
    (UrgencyCategory::Bleeding, "heavy bleeding"),
    (UrgencyCategory::Bleeding, "severe bleeding"),
    (UrgencyCategory::Bleeding, "bleeding wont stop"),
    (UrgencyCategory::Bleeding, "bleeding will not stop"),
    (UrgencyCategory::Bleeding, "bleeding doesnt stop"),
    (UrgencyCategory::Bleeding, "wont stop bleeding"),
    (UrgencyCategory::Bleeding, "cant stop the bleeding"),
    (UrgencyCategory::Bleeding, "cant stop bleeding"),
    (UrgencyCategory::Bleeding, "bleeding nonstop"),
    (UrgencyCategory::Bleeding, "lots of blood"),
    (UrgencyCategory::Bleeding, "lot of blood"),
    (UrgencyCategory::Bleeding, "blood everywhere"),
    (UrgencyCategory::Bleeding, "soaking through"),
    (UrgencyCategory::Bleeding, "spurting blood"),
    (UrgencyCategory::Bleeding, "vomiting blood"),
    (UrgencyCategory::Bleeding, "throwing up blood"),
    (UrgencyCategory::Bleeding, "coughing up blood"),
    (UrgencyCategory::Bleeding, "hemorrhage"),
    (UrgencyCategory::Bleeding, "hemorrhaging"),
    // Overdose
    (UrgencyCategory::Overdose, "overdose"),
    (UrgencyCategory::Overdose, "overdosed"),
    (UrgencyCategory::Overdose, "overdosing"),
    (UrgencyCategory::Overdose, "took too many"),
    (UrgencyCategory::Overdose, "taken too many"),
    (UrgencyCategory::Overdose, "took too much"),
    (UrgencyCategory::Overdose, "taken too much"),
    (UrgencyCategory::Overdose, "swallowed a bottle"),
    (UrgencyCategory::Overdose, "swallowed the bottle"),
    (UrgencyCategory::Overdose, "whole bottle of"),
    (UrgencyCategory::Overdose, "a bottle of pills"),
    (UrgencyCategory::Overdose, "all my pills"),
    (UrgencyCategory::Overdose, "double dose"),
    (UrgencyCategory::Overdose, "accidentally took"),
    (UrgencyCategory::Overdose, "ate some pills"),
    (UrgencyCategory::Overdose, "swallowed some pills"),
    (UrgencyCategory::Overdose, "unresponsive"),
];

/// A match: the category and the phrase that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrgentMatch {
    pub category: UrgencyCategory,
    pub phrase: String,
}

/// The phrase list used to detect urgent messages.
#[derive(Debug, Clone, PartialEq)]
pub struct UrgencyRules {
    /// Normalised phrases as word lists.
    phrases: Vec<(UrgencyCategory, Vec<String>, String)>,
}

impl Default for UrgencyRules {
    fn default() -> UrgencyRules {
        UrgencyRules::new(DEFAULT_PHRASES.iter().map(|(c, p)| UrgentPhrase { category: *c, phrase: (*p).to_owned() }))
    }
}

impl UrgencyRules {
    /// Rules from a phrase list (empty phrases are skipped).
    pub fn new(phrases: impl IntoIterator<Item = UrgentPhrase>) -> UrgencyRules {
        let phrases = phrases
            .into_iter()
            .filter_map(|p| {
                let words = words(&p.phrase);
                (!words.is_empty()).then(|| (p.category, words, p.phrase.trim().to_owned()))
            })
            .collect();
        UrgencyRules { phrases }
    }

    /// Parses a list of "category: phrase" lines (the admin's text form); the error names
    /// the line.
    pub fn parse_lines(text: &str) -> Result<Vec<UrgentPhrase>, String> {
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (category, phrase) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: use \"category: phrase\", e.g. \"chest_pain: chest pain\"", n + 1))?;
            let category = UrgencyCategory::parse(category).ok_or_else(|| {
                format!(
                    "line {}: unknown category \"{}\" (use chest_pain, breathing, stroke, suicidal, bleeding or overdose)",
                    n + 1,
                    category.trim()
                )
            })?;
            if words(phrase).is_empty() {
                return Err(format!("line {}: the phrase is empty", n + 1));
            }
            out.push(UrgentPhrase { category, phrase: phrase.trim().to_owned() });
        }
        Ok(out)
    }

    /// Every category whose phrases appear in `body`, most serious first (suicidal first,
    /// because its instruction gives 988), each with its first matching phrase.
    pub fn detect(&self, body: &str) -> Vec<UrgentMatch> {
        let text = words(body);
        let mut found: Vec<UrgentMatch> = Vec::new();
        for (category, phrase, original) in &self.phrases {
            if found.iter().any(|m| m.category == *category) {
                continue;
            }
            if contains(&text, phrase) {
                found.push(UrgentMatch { category: *category, phrase: original.clone() });
            }
        }
        found.sort_by_key(|m| (m.category != UrgencyCategory::Suicidal, m.category));
        found
    }

    /// The most serious match, if any.
    pub fn first(&self, body: &str) -> Option<UrgentMatch> {
        self.detect(body).into_iter().next()
    }
}

/// The reply for a set of matches: the first category's instruction, plus 988 when a
/// suicidal phrase was among several.
pub fn urgent_reply(matches: &[UrgentMatch]) -> Option<String> {
    let first = matches.first()?;
    Some(first.category.instruction().to_owned())
}

fn contains(text: &[String], phrase: &[String]) -> bool {
    text.windows(phrase.len()).any(|w| w == phrase)
}

/// Lowercase words, apostrophes dropped, SMS spellings normalised.
fn words(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let push = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            let w = match word.as_str() {
                "cnt" | "cannt" | "cn" => "cant",
                "breth" | "brethe" => "breathe",
                "u" => "you",
                "wnt" => "wont",
                "myslf" => "myself",
                "pls" | "plz" => "please",
                "bleedin" => "bleeding",
                "breathin" => "breathing",
                other => other,
            }
            .to_owned();
            out.push(w);
            word.clear();
        }
    };
    for c in body.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if matches!(c, '\'' | '’' | '‘' | 'ʼ' | '`') {
            // "can't" -> "cant"
        } else {
            push(&mut word, &mut out);
        }
    }
    push(&mut word, &mut out);
    // "my self" → "myself", "can not" stays two words (a phrase of its own).
    let mut merged: Vec<String> = Vec::with_capacity(out.len());
    for w in out {
        if w == "self" && merged.last().is_some_and(|l| l == "my") {
            if let Some(last) = merged.last_mut() {
                *last = "myself".into();
            }
        } else {
            merged.push(w);
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_category_with_its_number() {
        let rules = UrgencyRules::default();
        let cases = [
            ("I have chest pain since this morning", UrgencyCategory::ChestPain, "911"),
            ("i CANT BREATHE!!", UrgencyCategory::Breathing, "911"),
            ("my moms face is drooping and her speech is slurred", UrgencyCategory::Stroke, "911"),
            ("I keep thinking about killing myself", UrgencyCategory::Suicidal, "988"),
            ("the cut is bleeding a lot and wont stop", UrgencyCategory::Bleeding, "911"),
            ("my son took too many of my pills", UrgencyCategory::Overdose, "911"),
        ];
        for (text, category, number) in cases {
            let found = rules.first(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(found.category, category, "{text}");
            assert_eq!(found.category.emergency_number(), number);
            assert!(found.category.instruction().contains(number));
        }
    }

    #[test]
    fn negation_still_flags_and_suicidal_comes_first() {
        let rules = UrgencyRules::default();
        assert!(rules.first("no chest pain anymore, thanks").is_some());
        let both = rules.detect("chest pain and I want to die");
        assert_eq!(both[0].category, UrgencyCategory::Suicidal);
        assert!(urgent_reply(&both).unwrap().contains("988"));
        assert!(rules.first("Can I reschedule my appointment to Tuesday?").is_none());
    }

    #[test]
    fn phrase_lists_parse_with_line_errors() {
        let list = UrgencyRules::parse_lines("chest_pain: my heart hurts\n\n# comment\nsuicidal: give up").unwrap();
        assert_eq!(list.len(), 2);
        let rules = UrgencyRules::new(list);
        assert_eq!(rules.first("My heart hurts").unwrap().category, UrgencyCategory::ChestPain);
        assert!(UrgencyRules::parse_lines("pain: x").unwrap_err().contains("line 1"));
        assert!(UrgencyRules::parse_lines("ok\n").unwrap_err().contains("line 1"));
    }
}
