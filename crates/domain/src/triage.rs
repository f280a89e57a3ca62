//! Triage: ordered routing rules that set a new conversation's department, priority and tags,
//! and the optional SMS menu for threads no rule routed.
//!
//! A rule's conditions are all optional and ANDed: words or a pattern in the text, the practice
//! number texted, the reason chosen on the web form, the patient's status. The first rule that
//! matches wins, and [`evaluate`] says why in words staff read in the conversation. [`validate`]
//! refuses what cannot work: a rule without conditions, a bad pattern, an unknown department
//! or number, a duplicate name, and a rule that can never match because an earlier rule with
//! the same or broader conditions always wins first.

use std::collections::HashSet;
use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest compiled pattern accepted (bytes of the compiled program).
pub const PATTERN_SIZE_LIMIT: usize = 64 * 1024;
/// Longest pattern text accepted.
pub const PATTERN_MAX_LEN: usize = 500;
pub const MAX_RULES: usize = 200;
pub const MAX_MENU_OPTIONS: usize = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    High,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        match s {
            "normal" => Some(Priority::Normal),
            "high" => Some(Priority::High),
            _ => None,
        }
    }
}

/// Whether the person texting is already a patient of the practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientStatus {
    Prospective,
    Existing,
    Unknown,
}

impl PatientStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PatientStatus::Prospective => "prospective",
            PatientStatus::Existing => "existing",
            PatientStatus::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<PatientStatus> {
        match s {
            "prospective" => Some(PatientStatus::Prospective),
            "existing" => Some(PatientStatus::Existing),
            "unknown" => Some(PatientStatus::Unknown),
            _ => None,
        }
    }
}

/// One routing rule as admins write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingRule {
    pub name: String,
    /// Any of these words or phrases (whole words, any case) in the text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// A regular expression matched against the text, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The practice number texted (E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The reason key chosen on the web form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_status: Option<PatientStatus>,
    pub department_id: Uuid,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// One option of the SMS menu: the digit is its position (1-based).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenuOption {
    pub label: String,
    pub department_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MenuSettings {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub options: Vec<MenuOption>,
}

/// Everything admins configure for triage, stored as one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RoutingConfig {
    #[serde(default)]
    pub rules: Vec<RoutingRule>,
    #[serde(default)]
    pub menu: MenuSettings,
}

/// What a rule is checked against.
#[derive(Debug, Clone, Copy)]
pub struct TriageInput<'a> {
    pub text: &'a str,
    pub number: &'a str,
    pub reason: Option<&'a str>,
    pub patient_status: PatientStatus,
}

/// The first matching rule's actions, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub rule_index: usize,
    pub rule_name: String,
    pub department_id: Uuid,
    pub priority: Priority,
    pub tags: Vec<String>,
    /// "rule 'Billing words' matched 'invoice'": for staff, in the conversation (a pattern's
    /// match quotes the patient's words).
    pub reason: String,
    /// The same without any of the patient's words, for the audit log.
    pub audit_reason: String,
}

/// A validation failure, naming the rule (by position and name) and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Index of the rule in the list, `None` for the menu or the list as a whole.
    pub rule: Option<usize>,
    /// `rules[2].pattern`, `menu.options[0].department_id`, ...
    pub field: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for RuleError {}

fn err(rule: Option<usize>, field: String, message: String) -> RuleError {
    RuleError { rule, field, message }
}

/// Lower-case words of a text (letters and digits; everything else separates words).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `needle`'s words appear, in order and next to each other, in `haystack`'s words.
fn contains_words(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.trim().is_empty() {
        return Err("the pattern is empty".into());
    }
    if pattern.chars().count() > PATTERN_MAX_LEN {
        return Err(format!("the pattern is longer than {PATTERN_MAX_LEN} characters"));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT * 4)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "the pattern is too complex".to_string(),
            regex::Error::Syntax(s) => {
                format!("the pattern is not a valid regular expression: {}", s.lines().last().unwrap_or("syntax error"))
            }
            other => format!("the pattern is not valid: {other}"),
        })
}

/// Rules compiled once for evaluation.
pub struct CompiledRules<'a> {
    rules: &'a [RoutingRule],
    patterns: Vec<Option<Regex>>,
}

impl<'a> CompiledRules<'a> {
    /// Compiles the patterns; a pattern that no longer compiles never matches.
    pub fn new(rules: &'a [RoutingRule]) -> CompiledRules<'a> {
        let patterns = rules.iter().map(|r| r.pattern.as_deref().and_then(|p| compile_pattern(p).ok())).collect();
        CompiledRules { rules, patterns }
    }

    /// The first rule that matches, with its reason.
    pub fn evaluate(&self, input: &TriageInput<'_>) -> Option<Decision> {
        let text_words = words(input.text);
        for (i, rule) in self.rules.iter().enumerate() {
            let mut because: Vec<String> = Vec::new();
            let mut pattern_at = None;
            if !rule.keywords.is_empty() {
                let hit = rule.keywords.iter().find(|k| contains_words(&text_words, &words(k)));
                match hit {
                    Some(k) => because.push(format!("'{}'", k.trim())),
                    None => continue,
                }
            }
            if let Some(pattern) = &rule.pattern {
                let Some(re) = &self.patterns[i] else { continue };
                match re.find(input.text) {
                    Some(m) => {
                        pattern_at = Some(because.len());
                        because.push(format!("pattern /{}/ on '{}'", pattern, shorten(m.as_str())))
                    }
                    None => continue,
                }
            }
            if let Some(number) = &rule.number {
                if number != input.number {
                    continue;
                }
                because.push(format!("number {number}"));
            }
            if let Some(reason) = &rule.reason {
                if input.reason != Some(reason.as_str()) {
                    continue;
                }
                because.push(format!("reason '{reason}'"));
            }
            if let Some(status) = rule.patient_status {
                if input.patient_status != status {
                    continue;
                }
                because.push(format!("{} patient", status.as_str()));
            }
            let mut audit = because.clone();
            if let (Some(i), Some(p)) = (pattern_at, &rule.pattern) {
                audit[i] = format!("pattern /{p}/");
            }
            return Some(Decision {
                audit_reason: format!("rule '{}' matched {}", rule.name, audit.join(", ")),
                rule_index: i,
                rule_name: rule.name.clone(),
                department_id: rule.department_id,
                priority: rule.priority,
                tags: rule.tags.clone(),
                reason: format!("rule '{}' matched {}", rule.name, because.join(", ")),
            });
        }
        None
    }
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Convenience: compile and evaluate once.
pub fn evaluate(rules: &[RoutingRule], input: &TriageInput<'_>) -> Option<Decision> {
    CompiledRules::new(rules).evaluate(input)
}

/// The menu text sent to the patient: "Reply 1 for appointments, 2 for billing."
pub fn menu_text(menu: &MenuSettings) -> Option<String> {
    if !menu.enabled || menu.options.is_empty() {
        return None;
    }
    let parts: Vec<String> =
        menu.options.iter().enumerate().map(|(i, o)| format!("{} for {}", i + 1, o.label.trim())).collect();
    Some(format!("Reply {}.", parts.join(", ")))
}

/// The option a reply to the menu chose: the text is exactly one option's digit.
pub fn menu_choice<'m>(menu: &'m MenuSettings, text: &str) -> Option<(usize, &'m MenuOption)> {
    let t = text.trim().trim_end_matches('.');
    let n: usize = t.parse().ok()?;
    if t.len() > 2 || n == 0 {
        return None;
    }
    menu.options.get(n - 1).map(|o| (n, o))
}

/// Cleans the document (trims names, keywords, tags; drops blank entries) before validation.
pub fn normalize(config: &mut RoutingConfig) {
    for rule in &mut config.rules {
        rule.name = rule.name.trim().to_string();
        rule.keywords = rule.keywords.iter().map(|k| k.trim().to_string()).filter(|k| !k.is_empty()).collect();
        rule.tags = rule.tags.iter().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()).collect();
        let mut seen = HashSet::new();
        rule.tags.retain(|t| seen.insert(t.clone()));
        for field in [&mut rule.pattern, &mut rule.number, &mut rule.reason] {
            if field.as_deref().is_some_and(|v| v.trim().is_empty()) {
                *field = None;
            }
        }
        if let Some(reason) = &mut rule.reason {
            *reason = reason.trim().to_string();
        }
        if let Some(number) = &mut rule.number {
            *number = number.trim().to_string();
        }
    }
    for option in &mut config.menu.options {
        option.label = option.label.trim().to_string();
    }
}

/// Checks a whole configuration; the first problem found is returned.
pub fn validate(config: &RoutingConfig, departments: &[Uuid], numbers: &[String]) -> Result<(), RuleError> {
    if config.rules.len() > MAX_RULES {
        return Err(err(None, "rules".into(), format!("at most {MAX_RULES} rules")));
    }
    let mut names: HashSet<String> = HashSet::new();
    for (i, rule) in config.rules.iter().enumerate() {
        let at = |f: &str| format!("rules[{i}].{f}");
        if rule.name.is_empty() {
            return Err(err(Some(i), at("name"), format!("rule {} needs a name", i + 1)));
        }
        if rule.name.chars().count() > 80 {
            return Err(err(
                Some(i),
                at("name"),
                format!("rule '{}': the name is longer than 80 characters", rule.name),
            ));
        }
        if !names.insert(rule.name.to_lowercase()) {
            return Err(err(Some(i), at("name"), format!("two rules are named '{}'", rule.name)));
        }
        let has_text = !rule.keywords.is_empty() || rule.pattern.is_some();
        if !has_text && rule.number.is_none() && rule.reason.is_none() && rule.patient_status.is_none() {
            return Err(err(
                Some(i),
                at("keywords"),
                format!(
                    "rule '{}' has no conditions: give words, a pattern, a number, a reason or a patient status",
                    rule.name
                ),
            ));
        }
        if !rule.keywords.is_empty() && rule.pattern.is_some() {
            return Err(err(
                Some(i),
                at("pattern"),
                format!("rule '{}': give either words or a pattern, not both", rule.name),
            ));
        }
        for k in &rule.keywords {
            if words(k).is_empty() {
                return Err(err(Some(i), at("keywords"), format!("rule '{}': '{}' contains no word", rule.name, k)));
            }
        }
        if let Some(p) = &rule.pattern {
            compile_pattern(p).map_err(|m| err(Some(i), at("pattern"), format!("rule '{}': {m}", rule.name)))?;
        }
        if let Some(n) = &rule.number
            && !numbers.iter().any(|k| k == n)
        {
            return Err(err(
                Some(i),
                at("number"),
                format!(
                    "rule '{}': {} is not one of the practice's numbers",
                    rule.name,
                    crate::E164::parse_strict(n).map(|e| e.masked()).unwrap_or_else(|_| "the number".into())
                ),
            ));
        }
        if !departments.contains(&rule.department_id) {
            return Err(err(Some(i), at("department_id"), format!("rule '{}': unknown department", rule.name)));
        }
        for t in &rule.tags {
            if t.chars().count() > 40 || t.contains(',') {
                return Err(err(
                    Some(i),
                    at("tags"),
                    format!("rule '{}': tag '{}' must be under 40 characters without commas", rule.name, t),
                ));
            }
        }
        for (j, earlier) in config.rules[..i].iter().enumerate() {
            if covers(earlier, rule) {
                return Err(err(
                    Some(i),
                    at("name"),
                    format!(
                        "rule '{}' can never match: rule '{}' (number {}) has the same or broader conditions and comes first",
                        rule.name,
                        earlier.name,
                        j + 1
                    ),
                ));
            }
        }
    }
    if config.menu.options.len() > MAX_MENU_OPTIONS {
        return Err(err(None, "menu.options".into(), format!("at most {MAX_MENU_OPTIONS} menu options")));
    }
    if config.menu.enabled && config.menu.options.is_empty() {
        return Err(err(None, "menu.options".into(), "the menu is on but has no options".into()));
    }
    for (i, o) in config.menu.options.iter().enumerate() {
        if o.label.is_empty() || o.label.chars().count() > 40 {
            return Err(err(
                None,
                format!("menu.options[{i}].label"),
                format!("menu option {} needs a label of at most 40 characters", i + 1),
            ));
        }
        if !departments.contains(&o.department_id) {
            return Err(err(
                None,
                format!("menu.options[{i}].department_id"),
                format!("menu option {}: unknown department", i + 1),
            ));
        }
    }
    Ok(())
}

/// Whether every text `later` matches is also matched by `earlier` (so `later` is
/// unreachable). Conservative: `false` when it cannot be shown (patterns other than identical).
fn covers(earlier: &RoutingRule, later: &RoutingRule) -> bool {
    let text = match (earlier.keywords.is_empty(), &earlier.pattern) {
        (true, None) => true,
        (false, _) => {
            // Every word of `later` contains one of `earlier`'s words.
            !later.keywords.is_empty()
                && later.keywords.iter().all(|lk| {
                    let lw = words(lk);
                    earlier.keywords.iter().any(|ek| contains_words(&lw, &words(ek)))
                })
        }
        (true, Some(p)) => later.pattern.as_deref() == Some(p.as_str()),
    };
    fn same<T: PartialEq>(e: &Option<T>, l: &Option<T>) -> bool {
        e.is_none() || e == l
    }
    text && same(&earlier.number, &later.number)
        && same(&earlier.reason, &later.reason)
        && same(&earlier.patient_status, &later.patient_status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dept(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn rule(name: &str, keywords: &[&str], department: u8) -> RoutingRule {
        RoutingRule {
            name: name.into(),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            pattern: None,
            number: None,
            reason: None,
            patient_status: None,
            department_id: dept(department),
            priority: Priority::Normal,
            tags: Vec::new(),
        }
    }

    fn input(text: &str) -> TriageInput<'_> {
        TriageInput { text, number: "+15550001111", reason: None, patient_status: PatientStatus::Unknown }
    }

    fn config(rules: Vec<RoutingRule>) -> RoutingConfig {
        RoutingConfig { rules, menu: MenuSettings::default() }
    }

    const NUMBERS: &[&str] = &["+15550001111", "+15550002222"];

    fn numbers() -> Vec<String> {
        NUMBERS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_matching_rule_wins_with_a_reason() {
        let rules = vec![rule("Billing words", &["invoice", "bill"], 1), rule("Appointments", &["appointment"], 2)];
        let d = evaluate(&rules, &input("Hi, question about my INVOICE and an appointment")).unwrap();
        assert_eq!(d.department_id, dept(1));
        assert_eq!(d.rule_index, 0);
        assert_eq!(d.reason, "rule 'Billing words' matched 'invoice'");
        let d = evaluate(&rules, &input("can I move my appointment?")).unwrap();
        assert_eq!(d.department_id, dept(2));
        assert!(evaluate(&rules, &input("hello there")).is_none());
    }

    #[test]
    fn keywords_match_whole_words_and_phrases() {
        let rules = vec![rule("Bills", &["bill"], 1), rule("Refill", &["prescription refill"], 2)];
        assert!(evaluate(&rules, &input("my billing address")).is_none());
        assert_eq!(evaluate(&rules, &input("Need a Prescription   refill, please")).unwrap().department_id, dept(2));
        assert!(evaluate(&rules, &input("refill my prescription")).is_none());
    }

    #[test]
    fn pattern_is_case_insensitive() {
        let mut r = rule("Lab", &[], 3);
        r.pattern = Some(r"lab\s+results?".into());
        let d = evaluate(&[r], &input("Are my LAB Results in?")).unwrap();
        assert_eq!(d.reason, "rule 'Lab' matched pattern /lab\\s+results?/ on 'LAB Results'");
        assert_eq!(d.audit_reason, "rule 'Lab' matched pattern /lab\\s+results?/", "no patient words in the audit");
    }

    #[test]
    fn all_conditions_are_anded() {
        let mut r = rule("New billing", &["bill"], 1);
        r.number = Some("+15550002222".into());
        r.patient_status = Some(PatientStatus::Prospective);
        r.reason = Some("billing".into());
        let rules = vec![r];
        let mut i = input("a bill question");
        assert!(evaluate(&rules, &i).is_none());
        i.number = "+15550002222";
        assert!(evaluate(&rules, &i).is_none());
        i.patient_status = PatientStatus::Prospective;
        assert!(evaluate(&rules, &i).is_none());
        i.reason = Some("billing");
        let d = evaluate(&rules, &i).unwrap();
        assert_eq!(
            d.reason,
            "rule 'New billing' matched 'bill', number +15550002222, reason 'billing', prospective patient"
        );
    }

    #[test]
    fn actions_are_returned() {
        let mut r = rule("Urgent-ish", &["fever"], 4);
        r.priority = Priority::High;
        r.tags = vec!["clinical".into()];
        let d = evaluate(&[r], &input("fever since yesterday")).unwrap();
        assert_eq!(d.priority, Priority::High);
        assert_eq!(d.tags, vec!["clinical".to_string()]);
    }

    #[test]
    fn validation_names_rule_and_field() {
        let depts = [dept(1), dept(2)];
        let mut bad = rule("Regex", &[], 1);
        bad.pattern = Some("(unclosed".into());
        let e = validate(&config(vec![rule("A", &["x"], 1), bad]), &depts, &numbers()).unwrap_err();
        assert_eq!(e.field, "rules[1].pattern");
        assert_eq!(e.rule, Some(1));
        assert!(e.message.contains("rule 'Regex'"), "{}", e.message);

        let e = validate(&config(vec![rule("A", &["x"], 9)]), &depts, &numbers()).unwrap_err();
        assert_eq!(e.field, "rules[0].department_id");

        let e = validate(&config(vec![rule("A", &[], 1)]), &depts, &numbers()).unwrap_err();
        assert!(e.message.contains("no conditions"));

        let e = validate(&config(vec![rule("A", &["x"], 1), rule("a", &["y"], 2)]), &depts, &numbers()).unwrap_err();
        assert_eq!(e.field, "rules[1].name");
        assert!(e.message.contains("two rules"));

        let mut n = rule("Num", &[], 1);
        n.number = Some("+15559999999".into());
        let e = validate(&config(vec![n]), &depts, &numbers()).unwrap_err();
        assert_eq!(e.field, "rules[0].number");
        assert!(!e.message.contains("5559999999"), "numbers are masked: {}", e.message);

        let mut both = rule("Both", &["x"], 1);
        both.pattern = Some("x".into());
        assert_eq!(validate(&config(vec![both]), &depts, &numbers()).unwrap_err().field, "rules[0].pattern");
    }

    #[test]
    fn huge_patterns_are_refused() {
        let e = compile_pattern("(a{1000}){1000}").unwrap_err();
        assert!(e.contains("too complex"), "{e}");
        assert!(compile_pattern(&"a".repeat(PATTERN_MAX_LEN + 1)).is_err());
        assert!(compile_pattern(" ").is_err());
    }

    #[test]
    fn unreachable_rules_are_refused() {
        let depts = [dept(1), dept(2)];
        // Identical conditions.
        let e = validate(&config(vec![rule("First", &["bill"], 1), rule("Second", &["bill"], 2)]), &depts, &numbers())
            .unwrap_err();
        assert_eq!(e.rule, Some(1));
        assert!(e.message.contains("'Second'") && e.message.contains("'First'"), "{}", e.message);
        // Broader: fewer conditions, and a word contained in every later phrase.
        let mut later = rule("Later", &["bill pay", "the bill"], 2);
        later.patient_status = Some(PatientStatus::Existing);
        assert!(validate(&config(vec![rule("Early", &["bill"], 1), later.clone()]), &depts, &numbers()).is_err());
        // Narrower first is fine.
        assert!(validate(&config(vec![later.clone(), rule("Early", &["bill"], 1)]), &depts, &numbers()).is_ok());
        // Earlier has a condition the later lacks: reachable.
        let mut early = rule("Early", &["bill"], 1);
        early.number = Some("+15550001111".into());
        assert!(validate(&config(vec![early, rule("Later", &["bill"], 2)]), &depts, &numbers()).is_ok());
        // A number-only rule covers a later rule on the same number.
        let mut num = rule("Line 2", &[], 1);
        num.number = Some("+15550002222".into());
        let mut later2 = rule("Line 2 billing", &["bill"], 2);
        later2.number = Some("+15550002222".into());
        assert!(validate(&config(vec![num, later2]), &depts, &numbers()).is_err());
        // Different patterns cannot be compared: allowed.
        let mut p1 = rule("P1", &[], 1);
        p1.pattern = Some("bill".into());
        let mut p2 = rule("P2", &[], 2);
        p2.pattern = Some("invoice".into());
        assert!(validate(&config(vec![p1.clone(), p2]), &depts, &numbers()).is_ok());
        let mut p3 = p1.clone();
        p3.name = "P3".into();
        assert!(validate(&config(vec![p1, p3]), &depts, &numbers()).is_err());
    }

    #[test]
    fn menu_text_and_choices() {
        let menu = MenuSettings {
            enabled: true,
            options: vec![
                MenuOption { label: "appointments".into(), department_id: dept(1) },
                MenuOption { label: "billing".into(), department_id: dept(2) },
            ],
        };
        assert_eq!(menu_text(&menu).unwrap(), "Reply 1 for appointments, 2 for billing.");
        assert_eq!(menu_choice(&menu, " 2 ").unwrap().1.department_id, dept(2));
        assert!(menu_choice(&menu, "3").is_none());
        assert!(menu_choice(&menu, "0").is_none());
        assert!(menu_choice(&menu, "2 please").is_none());
        assert!(menu_text(&MenuSettings { enabled: false, ..menu.clone() }).is_none());
        let e = validate(
            &RoutingConfig { rules: vec![], menu: MenuSettings { enabled: true, options: vec![] } },
            &[dept(1)],
            &numbers(),
        )
        .unwrap_err();
        assert_eq!(e.field, "menu.options");
        let e = validate(&RoutingConfig { rules: vec![], menu: menu.clone() }, &[dept(1)], &numbers()).unwrap_err();
        assert_eq!(e.field, "menu.options[1].department_id");
    }

    proptest::proptest! {
        /// Whatever admins type and patients text, validation and evaluation answer, never panic.
        #[test]
        fn any_pattern_keywords_and_text_never_panic(
            pattern in ".{0,40}",
            keyword in "\\PC{0,20}",
            text in "\\PC{0,200}",
        ) {
            let mut r = rule("Fuzz", &[], 1);
            r.pattern = Some(pattern);
            let mut k = rule("Words", &[], 1);
            k.keywords = vec![keyword];
            let mut c = config(vec![r, k]);
            normalize(&mut c);
            let _ = validate(&c, &[dept(1)], &numbers());
            let _ = evaluate(&c.rules, &input(&text));
            let _ = menu_choice(&c.menu, &text);
        }
    }

    #[test]
    fn normalize_trims_and_drops_blanks() {
        let mut r = rule("  Spaced  ", &[" bill ", "  "], 1);
        r.pattern = Some("  ".into());
        r.tags = vec![" Money ".into(), "money".into(), "".into()];
        let mut c = config(vec![r]);
        normalize(&mut c);
        assert_eq!(c.rules[0].name, "Spaced");
        assert_eq!(c.rules[0].keywords, vec!["bill".to_string()]);
        assert_eq!(c.rules[0].pattern, None);
        assert_eq!(c.rules[0].tags, vec!["money".to_string()]);
    }
}
