//! Opt-out keywords and free-text revocation, from the patient's side.

use frontdesk_domain::keywords::{Keyword, Revocation, classify_keyword, detect_free_text_revocation};
use proptest::prelude::*;

#[test]
fn every_reference_keyword_is_recognised() {
    for word in ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"] {
        assert_eq!(classify_keyword(word), Some(Keyword::OptOut), "{word}");
        assert_eq!(classify_keyword(&word.to_lowercase()), Some(Keyword::OptOut), "{word}");
    }
    for word in ["START", "UNSTOP", "YES"] {
        assert_eq!(classify_keyword(word), Some(Keyword::OptIn), "{word}");
    }
    for word in ["HELP", "INFO"] {
        assert_eq!(classify_keyword(word), Some(Keyword::Help), "{word}");
    }
}

#[test]
fn case_whitespace_and_punctuation_are_ignored() {
    for body in [
        "stop.",
        "  Stop!! ",
        "\"STOP\"",
        "sToP",
        "\tstop\r\n",
        "Stop 🛑",
        "¡STOP!",
        "stop\u{200B}",
        "opt out",
        "Opt-Out",
        "OPT_OUT",
        "stop all",
        "...unsubscribe...",
    ] {
        assert_eq!(classify_keyword(body), Some(Keyword::OptOut), "{body:?}");
    }
    assert_eq!(classify_keyword("Yes!"), Some(Keyword::OptIn));
    assert_eq!(classify_keyword("help?"), Some(Keyword::Help));
    assert_eq!(classify_keyword("Info."), Some(Keyword::Help));
}

#[test]
fn anything_more_than_a_keyword_is_not_a_keyword() {
    for body in [
        "",
        "   ",
        "?!",
        "🛑",
        "stop texting me",
        "stop it",
        "stop stop",
        "stop.stop",
        "stopp",
        "stops",
        "yes please",
        "help me",
        "I need help",
        "cancel my appointment",
        "the end",
        "s.t.o.p",
        "startup",
    ] {
        assert_eq!(classify_keyword(body), None, "{body:?}");
    }
    assert_eq!(classify_keyword(&"stop ".repeat(1000)), None);
}

fn revocation(body: &str) -> Option<Revocation> {
    detect_free_text_revocation(body)
}

#[test]
fn clear_revocations() {
    for body in [
        "please stop texting me",
        "Please stop texting me.",
        "stop texting me",
        "Stop messaging me!",
        "stop sending me these reminders?",
        "Can you stop sending me texts",
        "stop contacting me",
        "stop calling and texting me",
        "STOP SENDING",
        "stop the texts",
        "stop all messages please",
        "Stop all the appointment reminders",
        "quit texting me",
        "don't text me anymore",
        "Dont text me",
        "do not contact me",
        "Do not text me again.",
        "never message me again",
        "no longer text me",
        "don't send me anything",
        "don't send me texts",
        "I don't want these texts",
        "I do not wish to receive text messages anymore",
        "unsubscribe me",
        "How do I unsubscribe?",
        "I want to unsubscribe from this",
        "remove me from your list",
        "Please remove me from the text list",
        "take me off your list",
        "take me off",
        "please remove me",
        "delete my number",
        "remove my phone number from your system",
        "opt me out",
        "I want to opt out",
        "how do i opt-out",
        "no more texts",
        "No more text messages please",
        "no more reminders!!",
        "no texts please",
        "Please stop",
        "stop please",
        "just stop",
        "STOP STOP STOP",
        "Thanks. STOP",
        "Stop! I already told you",
        "stop, thank you",
        "I revoke my consent",
        "I revoke",
        "I withdraw consent to be texted",
        "I already unsubscribed, why do I still get these",
        "cancel these texts",
        "cancel my subscription",
        "i dont know this number stop texting me",
        "Wrong number. Stop texting me",
        "Por favor. stop texting me",
        "pls stop txting me",
        "plz stop msging me",
        "STOP TEXTING ME!!!",
        "stop texting me\n\nsent from my phone",
    ] {
        assert_eq!(revocation(body), Some(Revocation::Clear), "{body:?}");
    }
}

#[test]
fn unclear_revocations_are_flagged() {
    for body in [
        "can you stop",
        "Can you stop?",
        "quit it",
        "stop it",
        "I want you to stop",
        "I want to cancel",
        "I'd like to cancel",
        "cancel please",
        "cancel it",
        "cancel my reminder",
        "wrong number",
        "You have the wrong person",
        "leave me alone",
        "not interested",
        "why do you keep texting me",
        "way too many messages",
        "don't text me before 9am",
        "stop texting me so early",
        "please don't text me at night",
        "I don't need a reminder",
        "revoke the referral",
        "end please",
        "Quit. You keep texting me",
    ] {
        assert_eq!(revocation(body), Some(Revocation::Unclear), "{body:?}");
    }
}

#[test]
fn ordinary_messages_are_not_revocations() {
    for body in [
        "I need to cancel my appointment",
        "Can I cancel my appointment tomorrow?",
        "I have to cancel, my son is sick, can we reschedule",
        "can I stop taking my meds",
        "Should I stop taking ibuprofen before the surgery?",
        "stop by the office tomorrow",
        "I'll stop by at 3",
        "the bleeding won't stop",
        "The pain doesn't stop",
        "When will the pain stop",
        "my nose won't stop bleeding",
        "please don't stop the reminders",
        "please don't stop texting me, I like the reminders",
        "I don't want you to stop sending reminders",
        "why did you stop sending me reminders?",
        "Did you stop texting me?",
        "I don't want to opt out",
        "take me off the waitlist",
        "Please take me off the waiting list",
        "remove me from the appointment",
        "stop worrying, I'll text you",
        "I need to stop texting and driving lol",
        "I quit smoking last month",
        "my son will drop me off",
        "can you take me at 3",
        "I need to withdraw from the study",
        "Yes I will be there",
        "What time is my appointment?",
        "Thanks! See you Tuesday",
        "Can you text me the address?",
        "Please text me when the doctor is ready",
        "No more pain since the new medication",
        "I got your text",
        "At the end of the day my knee hurts",
        "Can you send me the form again?",
        "I can't stop coughing",
        "don't forget to send the referral",
        "",
        "...",
        "🙂",
    ] {
        assert_eq!(revocation(body), None, "{body:?}");
    }
}

#[test]
fn keyword_only_messages_are_left_to_classify_keyword() {
    for body in ["STOP", "stop.", " Unsubscribe! ", "cancel", "END", "opt out", "START"] {
        assert_eq!(revocation(body), None, "{body:?}");
    }
}

#[test]
fn long_input_is_handled() {
    let body = format!("{} please stop texting me", "blah ".repeat(50_000));
    assert_eq!(revocation(&body), Some(Revocation::Clear));
    let body = "don't ".repeat(50_000);
    assert_eq!(revocation(&body), None);
}

proptest! {
    #[test]
    fn never_panics(body in any::<String>()) {
        let _ = classify_keyword(&body);
        let _ = detect_free_text_revocation(&body);
    }

    #[test]
    fn keywords_survive_decoration(
        keyword in prop::sample::select(vec!["stop", "STOPALL", "Unsubscribe", "quit", "optout"]),
        before in "[ \t\n.!?\"'*]{0,4}",
        after in "[ \t\n.!?\"'*]{0,4}",
    ) {
        let body = format!("{before}{keyword}{after}");
        prop_assert_eq!(classify_keyword(&body), Some(Keyword::OptOut));
        prop_assert_eq!(detect_free_text_revocation(&body), None);
    }
}

#[test]
fn adversarial_repetition_stays_fast() {
    let started = std::time::Instant::now();
    for body in [
        "stop texting me before ".repeat(20_000),
        "you ".repeat(100_000) + "stop",
        "stop it ".repeat(50_000),
        "please ".repeat(100_000),
        "remove me from ".repeat(30_000),
    ] {
        let _ = detect_free_text_revocation(&body);
        let _ = classify_keyword(&body);
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
