//! Opt-out / opt-in / help keywords and free-text revocation (reference/sms.md §5,
//! DESIGN.md §6 "Opt-out").
//!
//! Two layers, because the law and the carriers ask for different things:
//!
//! - [`classify_keyword`]: the carrier keywords (CTIA and Twilio defaults). A message that is
//!   only a keyword is acted on automatically, as every SMS platform does.
//! - [`detect_free_text_revocation`]: FCC 24-24 lets patients revoke consent "by any
//!   reasonable means", so "please stop texting me" must be honoured even though it is not a
//!   keyword. Sentences are ambiguous, though ("I want to cancel" may be about an
//!   appointment), so the answer is [`Revocation::Clear`] (honour it) or
//!   [`Revocation::Unclear`] (show it to staff), and ordinary clinical messages ("the
//!   bleeding won't stop", "can I stop taking my meds") must give `None`.
//!
//! Both are pure functions of the message text, never panic, and run in linear time.

/// What a message that consists of a carrier keyword asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT (also "OPT OUT").
    OptOut,
    /// START, UNSTOP, YES.
    OptIn,
    /// HELP, INFO.
    Help,
}

/// Longest message still worth normalising as a keyword ("UNSUBSCRIBE" plus decoration).
const MAX_KEYWORD_MESSAGE: usize = 64;

/// Classifies a message that is exactly one keyword: any case, surrounding whitespace,
/// punctuation and emoji ignored ("stop.", "  Stop!! ", "\"STOP\"", "Stop 🛑"), and spaces,
/// hyphens or underscores inside ignored too, so "opt out", "Opt-Out" and "stop all" count.
/// Anything longer ("stop texting me") is free text: see [`detect_free_text_revocation`].
pub fn classify_keyword(body: &str) -> Option<Keyword> {
    let trimmed = body.trim_matches(|c: char| !c.is_alphanumeric());
    if trimmed.is_empty() || trimmed.len() > MAX_KEYWORD_MESSAGE {
        return None;
    }
    let mut word = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_uppercase());
        } else if !(c.is_whitespace() || c == '-' || c == '_') {
            return None;
        }
    }
    match word.as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "REVOKE" | "OPTOUT" => Some(Keyword::OptOut),
        "START" | "UNSTOP" | "YES" => Some(Keyword::OptIn),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

/// How sure we are that a free-text message revokes consent to be texted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// An explicit request to stop messages: honour it like STOP.
    Clear,
    /// Might be a revocation ("can you stop", "I want to cancel", "wrong number"): flag the
    /// message to staff, who decide.
    Unclear,
}

/// Detects a revocation of consent written in the patient's own words.
///
/// Clear: "please stop texting me", "don't text me anymore", "unsubscribe me", "remove me
/// from your list", "opt me out", "no more texts", "Thanks. STOP", "stop sending me these
/// reminders". Unclear: "can you stop", "quit it", "I want to cancel", "cancel please",
/// "wrong number", "leave me alone", "why do you keep texting me", or a clear request limited
/// in time ("don't text me before 9"). `None` for everything else, including "I need to
/// cancel my appointment", "can I stop taking my meds", "stop by the office tomorrow", "the
/// bleeding won't stop", "please don't stop the reminders", and for messages that are only a
/// keyword (those are [`classify_keyword`]'s).
///
/// The rules look at one clause at a time (text between `.`, `,`, `!`, `?`, `;`, `:` or line
/// breaks), so a negation in one sentence does not flip a request in the next.
pub fn detect_free_text_revocation(body: &str) -> Option<Revocation> {
    if classify_keyword(body).is_some() {
        return None;
    }
    let mut verdict = None;
    let clauses = clauses(body);
    let last = clauses.len().saturating_sub(1);
    let asks = body.contains('?');
    for (index, clause) in clauses.iter().enumerate() {
        let clause = Clause(clause);
        // "Stop! I forgot my card, can I bring it?": a bare STOP followed by a question may be
        // an exclamation, not a request; "Thanks. STOP" and "Stop! I already told you" are.
        let bare_then_more = index < last && asks && clause.only_keywords().is_some();
        match clause.revocation() {
            Some(Revocation::Clear) if bare_then_more => verdict = Some(Revocation::Unclear),
            Some(Revocation::Clear) => return Some(Revocation::Clear),
            Some(Revocation::Unclear) => verdict = Some(Revocation::Unclear),
            None => {}
        }
    }
    verdict
}

// ---- word lists (all lowercase, apostrophes removed: "don't" is "dont") --------------------

/// Verbs that, aimed at messages, ask for them to end.
const STOP_VERBS: &[&str] = &["stop", "quit", "cease", "halt"];
/// "stop ___ (me)".
const CONTACT_GERUNDS: &[&str] =
    &["texting", "messaging", "contacting", "sending", "calling", "bothering", "spamming", "harassing"];
/// "don't ___ me".
const CONTACT_VERBS: &[&str] = &["text", "message", "contact", "sms", "call", "bother", "spam", "harass"];
const PLURAL_MESSAGE_NOUNS: &[&str] =
    &["texts", "messages", "sms", "reminders", "notifications", "alerts", "communications", "calls", "textmessages"];
const SINGULAR_MESSAGE_NOUNS: &[&str] = &["text", "message", "reminder", "notification", "alert", "communication"];
/// Words allowed between a verb and the message noun it governs ("stop all the appointment
/// reminders"). Deliberately small: "stop worrying, I'll text you" must not match.
const DETERMINERS: &[&str] = &[
    "a",
    "an",
    "the",
    "these",
    "those",
    "this",
    "that",
    "all",
    "any",
    "your",
    "my",
    "such",
    "more",
    "of",
    "automated",
    "automatic",
    "auto",
    "appointment",
    "appt",
    "daily",
    "weekly",
    "constant",
    "stupid",
    "annoying",
    "marketing",
    "promotional",
    "text",
    "sms",
    "reminder",
    "mailing",
    "contact",
    "texting",
    "messaging",
    "notification",
];
/// What one can be removed from to stop getting texts. Not "waitlist".
const LIST_NOUNS: &[&str] = &[
    "list",
    "lists",
    "texts",
    "messages",
    "messaging",
    "texting",
    "sms",
    "notifications",
    "alerts",
    "reminders",
    "system",
    "database",
    "contacts",
    "distribution",
];
/// Who the contact is aimed at: "stop texting me", "don't text this number".
const OBJECTS: &[&str] = &["me", "us", "my", "this", "them", "anymore", "again", "ever"];
/// Words that turn a request around ("don't stop", "won't stop", "why did you stop").
const NEGATIONS: &[&str] = &[
    "dont", "not", "never", "wont", "didnt", "doesnt", "cant", "cannot", "couldnt", "shouldnt", "wouldnt", "isnt",
    "arent", "wasnt", "hasnt", "havent", "did", "why",
];
/// Words that may sit between a negation and the verb it negates ("I do not want you to stop").
const NEGATION_LINKS: &[&str] =
    &["please", "you", "to", "want", "wish", "need", "i", "really", "ever", "would", "like", "just", "ok", "so"];
/// Politeness and padding that do not change what a short clause asks.
const FILLERS: &[&str] = &[
    "please",
    "now",
    "just",
    "thanks",
    "already",
    "again",
    "asap",
    "immediately",
    "ok",
    "okay",
    "sorry",
    "all",
    "right",
    "sir",
    "maam",
    "hey",
    "hi",
    "hello",
    "no",
    "seriously",
    "guys",
];
/// What may follow a bare "stop"/"cancel" in a short request ("stop it", "cancel that").
const VAGUE_OBJECTS: &[&str] = &["it", "this", "that", "them", "these", "those", "everything"];
/// What may come right before a bare "stop" in a request ("can you stop", "please stop").
const REQUEST_LEADS: &[&str] =
    &["please", "can", "could", "will", "would", "you", "just", "ok", "okay", "so", "guys", "hey", "seriously", "no"];
/// Keywords that alone in a clause clearly revoke ("Thanks. STOP").
const STRONG_KEYWORDS: &[&str] = &["stop", "stopall", "unsubscribe", "optout", "revoke"];
/// Keywords that alone in a longer message may be about something else (an appointment).
const WEAK_KEYWORDS: &[&str] = &["cancel", "end", "quit"];
/// A request limited in time is a preference, not a revocation: "don't text me before 9".
const TIME_QUALIFIERS: &[&str] = &[
    "before", "after", "until", "till", "til", "during", "between", "early", "late", "night", "morning", "evening",
    "weekend", "weekends", "work", "while", "today", "tonight", "tomorrow",
];

fn is(word: Option<&str>, list: &[&str]) -> bool {
    word.is_some_and(|w| list.contains(&w))
}

/// Lowercase words of each clause, with common SMS spellings normalised.
fn clauses(body: &str) -> Vec<Vec<String>> {
    let mut clauses = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let finish_word = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            push_word(words, normalise(word));
            word.clear();
        }
    };
    for c in body.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if matches!(c, '\'' | '’' | '‘' | 'ʼ' | '`' | '´') {
            // "don't" -> "dont"
        } else {
            finish_word(&mut word, &mut words);
            if matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | '\n' | '\r' | '…' | '¡' | '¿' | '。')
                && !words.is_empty()
            {
                clauses.push(std::mem::take(&mut words));
            }
        }
    }
    finish_word(&mut word, &mut words);
    if !words.is_empty() {
        clauses.push(words);
    }
    clauses
}

fn normalise(word: &str) -> String {
    match word {
        "u" => "you",
        "ur" => "your",
        "pls" | "plz" | "plse" | "pleas" | "pleeze" | "pleaseee" | "pleasee" => "please",
        "thx" | "ty" | "thanx" | "tks" => "thanks",
        "txt" => "text",
        "txts" => "texts",
        "txting" => "texting",
        "msg" => "message",
        "msgs" => "messages",
        "msging" => "messaging",
        "unsub" | "unsubcribe" | "unsuscribe" | "unsubscribed" | "unsubscribing" => "unsubscribe",
        other => other,
    }
    .to_owned()
}

/// Appends `word`, merging "thank you" into "thanks" so it reads as one filler.
fn push_word(words: &mut Vec<String>, word: String) {
    if word == "you" && words.last().is_some_and(|w| w == "thank") {
        if let Some(last) = words.last_mut() {
            *last = "thanks".to_owned();
        }
    } else {
        words.push(word);
    }
}

/// One clause's words and the rules that read them.
struct Clause<'a>(&'a [String]);

impl Clause<'_> {
    fn word(&self, index: usize) -> Option<&str> {
        self.0.get(index).map(String::as_str)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn revocation(&self) -> Option<Revocation> {
        if let Some(verdict) = self.only_keywords() {
            return Some(verdict);
        }
        let mut verdict = None;
        for index in 0..self.len() {
            match self.rules_at(index) {
                Some(Revocation::Clear) => return Some(Revocation::Clear),
                Some(Revocation::Unclear) => verdict = Some(Revocation::Unclear),
                None => {}
            }
        }
        verdict
    }

    /// "Please stop", "STOP STOP", "Thanks, STOP": a clause of keywords and fillers.
    fn only_keywords(&self) -> Option<Revocation> {
        let mut strong = false;
        let mut any = false;
        for word in self.0 {
            let word = word.as_str();
            if STRONG_KEYWORDS.contains(&word) {
                strong = true;
                any = true;
            } else if WEAK_KEYWORDS.contains(&word) {
                any = true;
            } else if !FILLERS.contains(&word) {
                return None;
            }
        }
        match (any, strong) {
            (true, true) => Some(Revocation::Clear),
            (true, false) => Some(Revocation::Unclear),
            _ => None,
        }
    }

    /// The rules that can start at word `index`.
    fn rules_at(&self, index: usize) -> Option<Revocation> {
        let word = self.word(index)?;
        if STOP_VERBS.contains(&word) {
            return self.stop_verb(index);
        }
        match word {
            "unsubscribe" | "optout" | "optedout" | "optingout" => {
                // "unsubscribe my son from the flu clinic list": someone else, some other list.
                let other = is(self.word(index + 1), &["my", "him", "her", "our"])
                    && !is(self.word(index + 2), &["number", "phone", "cell", "self"]);
                if other && !self.negated(index) { Some(Revocation::Unclear) } else { self.unless_negated(index) }
            }
            "opt" | "opted" | "opting" => {
                let out = self.word(index + 1) == Some("out")
                    || (self.word(index + 1) == Some("me") && self.word(index + 2) == Some("out"));
                if out { self.unless_negated(index) } else { None }
            }
            "cancel" => self.cancel(index),
            "remove" | "delete" | "erase" | "drop" | "take" => self.remove_me(index),
            "no" => self.no_more(index),
            "dont" | "never" | "not" | "longer" => self.dont_contact_me(index),
            "revoke" | "revoking" | "withdraw" | "withdrawing" => {
                let consent =
                    (index + 1..index + 4).any(|i| is(self.word(i), &["consent", "permission", "authorization"]));
                let revoke = word.starts_with("revok");
                if self.negated(index) {
                    None
                } else if consent || (revoke && self.nothing_more_from(index + 1)) {
                    Some(Revocation::Clear)
                } else {
                    // "revoke the referral"? Staff decide; "withdraw money" is nothing.
                    revoke.then_some(Revocation::Unclear)
                }
            }
            "leave" if self.word(index + 1) == Some("me") && self.word(index + 2) == Some("alone") => {
                Some(Revocation::Unclear)
            }
            "wrong" if is(self.word(index + 1), &["number", "person", "patient", "phone"]) => Some(Revocation::Unclear),
            "interested" if index > 0 && self.word(index - 1) == Some("not") => Some(Revocation::Unclear),
            "keep" | "keeps"
                if is(self.word(index + 1), CONTACT_GERUNDS)
                    && index > 0
                    && is(
                        self.word(index - 1),
                        &["you", "they", "yall", "still", "why", "people", "somebody", "someone"],
                    ) =>
            {
                Some(Revocation::Unclear)
            }
            // "why are you texting me"
            "texting" | "messaging" | "contacting"
                if is(self.word(index + 1), &["me", "this", "my"])
                    && self.0[index.saturating_sub(6)..index].iter().any(|w| w == "why") =>
            {
                Some(Revocation::Unclear)
            }
            "many" if self.message_noun_from(index + 1).is_some() => Some(Revocation::Unclear),
            _ => None,
        }
    }

    /// Whether the word at `index` is negated: "don't stop", "I do not want you to stop",
    /// "won't stop", "why did you stop".
    fn negated(&self, index: usize) -> bool {
        for i in (0..index).rev() {
            let Some(word) = self.word(i) else { break };
            if NEGATIONS.contains(&word) {
                return true;
            }
            if !NEGATION_LINKS.contains(&word) {
                break;
            }
        }
        false
    }

    fn unless_negated(&self, index: usize) -> Option<Revocation> {
        (!self.negated(index)).then_some(Revocation::Clear)
    }

    /// From `index`, skips determiners and returns the index of a message noun, if any.
    fn message_noun_from(&self, index: usize) -> Option<usize> {
        self.noun_from(index, |w| PLURAL_MESSAGE_NOUNS.contains(&w) || SINGULAR_MESSAGE_NOUNS.contains(&w))
    }

    fn noun_from(&self, index: usize, is_noun: impl Fn(&str) -> bool) -> Option<usize> {
        for i in index..(index + 4).min(self.len()) {
            let word = self.word(i)?;
            if is_noun(word) {
                // "text messages": the noun is the last of a compound.
                if self.word(i + 1).is_some_and(&is_noun) {
                    return Some(i + 1);
                }
                return Some(i);
            }
            if !DETERMINERS.contains(&word) {
                return None;
            }
        }
        None
    }

    /// Clear, unless the few words after `end` limit it in time ("... before 9am", "... so
    /// early in the morning").
    fn clear_unless_limited(&self, end: usize) -> Option<Revocation> {
        let limited = self.0.iter().skip(end).take(6).any(|w| TIME_QUALIFIERS.contains(&w.as_str()));
        Some(if limited { Revocation::Unclear } else { Revocation::Clear })
    }

    /// Only fillers and vague objects ("it", "this") from `index` to the end of the clause.
    fn nothing_more_from(&self, index: usize) -> bool {
        self.0.iter().skip(index).all(|w| FILLERS.contains(&w.as_str()) || VAGUE_OBJECTS.contains(&w.as_str()))
    }

    /// "stop texting me", "stop sending me these reminders", "stop the texts"; "can you stop",
    /// "quit it" are unclear; "stop taking my meds", "stop by" are nothing.
    fn stop_verb(&self, index: usize) -> Option<Revocation> {
        if self.negated(index) {
            return None;
        }
        let mut next = index + 1;
        // "stop with the texts"
        if self.word(next) == Some("with") {
            next += 1;
        }
        // "stop receiving texts", "stop getting these messages"
        if is(self.word(next), &["receiving", "getting"]) {
            return match self.message_noun_from(next + 1) {
                Some(noun) => self.clear_unless_limited(noun + 1),
                None => None,
            };
        }
        if is(self.word(next), CONTACT_GERUNDS) {
            let mut after = next + 1;
            let mut only_calls = self.word(next) == Some("calling");
            // "stop calling and texting me"
            while is(self.word(after), &["and", "or"]) && is(self.word(after + 1), CONTACT_GERUNDS) {
                only_calls &= self.word(after + 1) == Some("calling");
                after += 2;
            }
            if after >= self.len() || is(self.word(after), OBJECTS) {
                // Phone calls are not texts: staff decide.
                return if only_calls { Some(Revocation::Unclear) } else { self.clear_unless_limited(after) };
            }
            if let Some(noun) = self.message_noun_from(after) {
                return self.clear_unless_limited(noun + 1);
            }
            return None;
        }
        if let Some(noun) = self.message_noun_from(next) {
            return self.clear_unless_limited(noun + 1);
        }
        let requested = match index.checked_sub(1).and_then(|i| self.word(i)) {
            None => true,
            Some("to") => index >= 2 && self.word(index - 2) == Some("you"),
            Some(previous) => REQUEST_LEADS.contains(&previous),
        };
        (requested && self.nothing_more_from(next)).then_some(Revocation::Unclear)
    }

    /// "cancel these texts" is clear, "cancel my reminder" or a bare "I want to cancel" may
    /// be about an appointment, "cancel my appointment" is nothing.
    fn cancel(&self, index: usize) -> Option<Revocation> {
        if self.negated(index) {
            return None;
        }
        let next = index + 1;
        if self.noun_from(next, |w| w == "subscription").is_some() {
            return Some(Revocation::Clear);
        }
        if let Some(noun) = self.message_noun_from(next) {
            return if is(self.word(noun), PLURAL_MESSAGE_NOUNS) {
                self.clear_unless_limited(noun + 1)
            } else {
                Some(Revocation::Unclear)
            };
        }
        if self.noun_from(next, |w| w == "subscription").is_some() {
            return Some(Revocation::Clear);
        }
        let leads = |w: &str| REQUEST_LEADS.contains(&w) || ["to", "i", "want", "wanna", "like"].contains(&w);
        let requested = index == 0 || self.word(index - 1).is_some_and(leads);
        // "I have to cancel" / "I need to cancel" is about something booked.
        let obliged = index >= 2
            && self.word(index - 1) == Some("to")
            && is(self.word(index - 2), &["have", "need", "got", "gotta", "must"]);
        (requested && !obliged && self.nothing_more_from(next)).then_some(Revocation::Unclear)
    }

    /// "remove me from your list", "take me off the list", "delete my number"; not "take me
    /// off the waitlist".
    fn remove_me(&self, index: usize) -> Option<Revocation> {
        if self.negated(index) {
            return None;
        }
        let verb = self.word(index)?;
        // "please remove me" alone is the usual opt-out phrase; "drop me" or "take me" is not.
        let alone_is_enough = matches!(verb, "remove" | "delete" | "erase");
        let mut next = index + 1;
        match self.word(next) {
            Some("me" | "us") => next += 1,
            Some("my" | "this" | "our") => {
                if !is(self.word(next + 1), &["number", "phone", "cell", "info", "contact"]) {
                    return None;
                }
                next += 2;
                if is(self.word(next), &["number"]) {
                    next += 1; // "my phone number"
                }
                if alone_is_enough && !is(self.word(next), &["from", "off"]) {
                    return Some(Revocation::Clear);
                }
            }
            _ => return None,
        }
        match self.word(next) {
            None => alone_is_enough.then_some(Revocation::Clear),
            // "take me off" (the list being understood); not "drop me off".
            Some("off") if verb == "take" && next + 1 >= self.len() => Some(Revocation::Clear),
            Some("from" | "off") => self.noun_from(next + 1, |w| LIST_NOUNS.contains(&w)).map(|_| Revocation::Clear),
            _ => None,
        }
    }

    /// "no more texts", "no text messages please".
    fn no_more(&self, index: usize) -> Option<Revocation> {
        let next = index + 1;
        if self.word(next) == Some("more") {
            return self.message_noun_from(next + 1).map(|_| Revocation::Clear);
        }
        let noun = self.message_noun_from(next)?;
        (is(self.word(noun), PLURAL_MESSAGE_NOUNS) && self.nothing_more_from(noun + 1)).then_some(Revocation::Clear)
    }

    /// "don't text me", "do not contact me", "never message me again", "no longer text me",
    /// "don't send me texts", "I don't want these texts" ("don't need" is unclear).
    fn dont_contact_me(&self, index: usize) -> Option<Revocation> {
        let mut next = index + 1;
        match self.word(index)? {
            "not" if index > 0 && self.word(index - 1) == Some("do") => {}
            "longer" if index > 0 && self.word(index - 1) == Some("no") => {}
            "dont" | "never" => {}
            _ => return None,
        }
        while is(self.word(next), &["please", "ever", "really", "even"]) {
            next += 1;
        }
        let verb = self.word(next)?;
        if verb == "send" {
            if is(self.word(next + 1), &["me", "us"]) {
                next += 1;
            }
            let after = next + 1;
            if after >= self.len() || is(self.word(after), &["anything", "any", "anymore"]) {
                return self.clear_unless_limited(after);
            }
            return match self.message_noun_from(after) {
                Some(noun) => self.clear_unless_limited(noun + 1),
                None => None,
            };
        }
        if CONTACT_VERBS.contains(&verb) {
            let after = next + 1;
            return if after >= self.len() || is(self.word(after), OBJECTS) {
                // "please don't call" is about phone calls, not texts: staff decide.
                if verb == "call" { Some(Revocation::Unclear) } else { self.clear_unless_limited(after) }
            } else {
                None
            };
        }
        if matches!(verb, "want" | "wish" | "need") {
            let mut i = next + 1;
            while is(self.word(i), &["to", "receive", "get", "getting", "receiving", "anymore", "any", "more"]) {
                i += 1;
            }
            let noun = self.message_noun_from(i)?;
            return if verb == "need" { Some(Revocation::Unclear) } else { self.clear_unless_limited(noun + 1) };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_split_and_normalise() {
        assert_eq!(clauses("Don't txt me. Thank you!!"), [vec!["dont", "text", "me"], vec!["thanks"]]);
        assert!(clauses("  ...  ").is_empty());
    }
}
