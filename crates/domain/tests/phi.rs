//! The PHI guard on a labelled set of realistic outbound front-desk texts: it must warn on
//! messages that carry PHI and stay quiet on ordinary logistics, or staff learn to ignore it.

use frontdesk_domain::phi::{PhiKind, describe, detect_phi};

/// Messages that contain PHI, with the kind we expect to find among the findings.
const PHI: &[(&str, PhiKind)] = &[
    ("Hi Maria, for the form we need your SSN 123-45-6789 confirmed.", PhiKind::Ssn),
    ("Is 078-05-1120 still the right social security number on file?", PhiKind::Ssn),
    ("We have your social security number as 123 45 6789, please confirm.", PhiKind::Ssn),
    ("Please confirm: SSN: 219-09-9999 and DOB 04/12/1985", PhiKind::Ssn),
    ("To verify, is your DOB 04/12/1985?", PhiKind::BirthDate),
    ("Patient born 1985-04-12, please bring photo ID.", PhiKind::BirthDate),
    ("We have your date of birth as March 3, 1962. Is that right?", PhiKind::BirthDate),
    ("Your birthday on file is 7/4/71, can you confirm?", PhiKind::BirthDate),
    ("Hi John, the lab has your DOB as 11-30-1990.", PhiKind::BirthDate),
    ("Records for Jane Doe 02/14/1957 were sent to Dr. Patel.", PhiKind::BirthDate),
    ("Your MRN 448812 is on the referral.", PhiKind::RecordNumber),
    ("Please reference chart # A-55120 when you call.", PhiKind::RecordNumber),
    ("Medical record number: 00982341. Use it at check-in.", PhiKind::RecordNumber),
    ("Your patient ID is PT-778812 for the portal.", PhiKind::RecordNumber),
    ("We billed member ID XJH123456789 for the visit.", PhiKind::MemberId),
    ("Insurance on file: policy # 99812-0031, group # 48812.", PhiKind::MemberId),
    ("Your Medicaid ID 123456789A was not accepted, please call us.", PhiKind::MemberId),
    ("The subscriber number is W2883311 according to Aetna.", PhiKind::MemberId),
    ("Your diabetes follow up is Tuesday at 9.", PhiKind::Diagnosis),
    ("Dr. Smith reviewed your hypertension plan and wants to see you.", PhiKind::Diagnosis),
    ("Your HIV test came back, please call the office.", PhiKind::Diagnosis),
    ("Congratulations, the test confirms you are pregnant!", PhiKind::Diagnosis),
    ("Your chlamydia treatment is ready at the front desk.", PhiKind::Diagnosis),
    ("We referred you to Dr. Lee for the depression screening results.", PhiKind::Diagnosis),
    ("Your mother's dementia appointment is moved to Friday.", PhiKind::Diagnosis),
    ("The asthma action plan is attached, call with questions.", PhiKind::Diagnosis),
    ("Your biopsy showed no cancer, Dr. Smith will call you.", PhiKind::Diagnosis),
    ("We sent your metformin refill to CVS on Main St.", PhiKind::Medication),
    ("Dr. Gomez increased your lisinopril to 20 mg.", PhiKind::Medication),
    ("Your Xanax prescription needs a visit before the next refill.", PhiKind::Medication),
    ("Ozempic prior authorization was approved!", PhiKind::Medication),
    ("Please keep taking the sertraline until your follow-up.", PhiKind::Medication),
    ("Your insulin pens are ready for pickup.", PhiKind::Medication),
    ("The pharmacy said oxycodone needs a new paper script.", PhiKind::Medication),
    ("Stop the atorvastatin for a week and see if the aches go away.", PhiKind::Medication),
    ("Your A1c 7.2 is better than last time!", PhiKind::LabValue),
    ("HbA1c of 8% so we should talk about your plan.", PhiKind::LabValue),
    ("Fasting glucose 140 mg/dL, please recheck next week.", PhiKind::LabValue),
    ("LDL 160, Dr. Kim recommends a follow-up.", PhiKind::LabValue),
    ("Hi Tom, your potassium was 5.9 so please go to the lab today.", PhiKind::LabValue),
    ("Your son tested positive for strep, antibiotics were sent.", PhiKind::LabValue),
    ("Your TSH came back at 6.1, the doctor will adjust the dose.", PhiKind::LabValue),
    ("Results came back negative, nothing to worry about.", PhiKind::LabValue),
    ("Your blood pressure was 150/95 at the visit.", PhiKind::LabValue),
    // Written after the rules, not tuned against.
    ("Hep C treatment starts Monday, the nurse will call.", PhiKind::Diagnosis),
    ("Your cholesterol is 240, let's recheck in 3 months.", PhiKind::LabValue),
    ("Jardiance samples are at the front desk for you.", PhiKind::Medication),
    ("Dr. Lee wants to talk about your bipolar medication.", PhiKind::Diagnosis),
    ("Your daughter's UTI culture grew E. coli, antibiotics sent.", PhiKind::Diagnosis),
    ("Your vitamin D level was 18, start a supplement.", PhiKind::LabValue),
    ("Your Humira approval came through.", PhiKind::Medication),
    ("Please confirm member # JQK4471902 for the claim.", PhiKind::MemberId),
    ("We need your date of birth: 9/9/1979 or 9/9/1997?", PhiKind::BirthDate),
    ("Eliquis was sent to Walgreens.", PhiKind::Medication),
];

/// Ordinary front-desk texts that contain no PHI.
const CLEAN: &[&str] = &[
    "See you on 12/03 at 2:30 PM!",
    "Reminder: your appointment is Tuesday March 3 at 10:15 AM with Dr. Smith.",
    "Please arrive 15 minutes early to complete paperwork.",
    "Our new number is (555) 123-4567.",
    "Call us at 555-201-3344 to reschedule.",
    "Your copay for today is $45.00.",
    "The balance of $120.50 can be paid online.",
    "We are at 123 Main St, Suite 200, Springfield, IL 62704.",
    "Parking is free in the garage on 5th Ave.",
    "Your refill is ready.",
    "Your refill request was sent to the pharmacy.",
    "Dr. Smith is running 20 minutes late, sorry!",
    "Please bring your insurance card and a photo ID.",
    "Can you send a picture of the front and back of your member ID card?",
    "Flu shots are available Monday through Friday, 9 to 4.",
    "COVID vaccines are available for ages 5 and up.",
    "Your lab results are ready in the portal.",
    "Please fill out this form before your visit: https://frontdesk.example/f/ab12",
    "We are closed on 12/25 and 1/1. Happy holidays!",
    "Thanks for choosing Springfield Family Medicine.",
    "Reply C to confirm or R to reschedule.",
    "Your appointment on Jan 14 at 8:00 AM is confirmed.",
    "The office opens at 8 and closes at 5 on weekdays.",
    "Hi Anna, Dr. Lee can see you tomorrow at 3 instead.",
    "Please call 911 if this is an emergency.",
    "Your annual physical is due. Reply to book.",
    "We received your payment of $75. Thank you!",
    "Please remember to fast for 12 hours before your blood draw.",
    "Room 12 is on the second floor, take the elevator on the left.",
    "Hi, this is Jess from the front desk. Got it, thanks!",
    "Your package from the lab was delivered to Suite 210.",
    "Happy birthday from all of us at Riverside Pediatrics!",
    "Your telehealth link: https://meet.example.com/room/88123",
    "We moved your visit from 10/14 to 10/21 at 11:30.",
    "Open enrollment ends December 15, check your plan options.",
    "Dr. O'Brien will be out of office from 6/1 to 6/15.",
    "Please update your address and phone in the portal.",
    "Sure, 4:45 works. See you then.",
    "Your next cleaning is on Wed, Apr 8th at 9am.",
    "Invoice 20231 has been paid in full.",
    "Fax the referral to 555-300-1200, attention Karen.",
    "Sorry we missed you today. Call 555.010.2233 to rebook.",
    "Your appointment is confirmed for 2026-03-12 at 14:00.",
    "We have openings on the 3rd and the 17th of next month.",
    // Written after the rules, not tuned against.
    "Your results are in, please call us when you can.",
    "The doctor would like to go over your labs at your next visit.",
    "Our Sugar Land office is closed today.",
    "Please bring a list of all your medications to the visit.",
    "We accept Medicare and most commercial plans.",
    "Dr. Alt will see you at 9:40 tomorrow.",
    "Serving the community since 1999!",
    // Flagged by design (any full 1900s date counts as a birth date): a known false alarm.
    "Founded on March 1, 1998 by Dr. Reyes.",
    "Your forms were received, member services will follow up.",
    "Group visits start 4/2 in Room 3.",
    "Please sign the HIPAA release and the policy 2026 update.",
];

#[test]
fn precision_and_recall_on_labelled_set() {
    assert!(PHI.len() + CLEAN.len() >= 80);
    let mut true_pos = 0usize;
    let mut false_neg = Vec::new();
    let mut wrong_kind = Vec::new();
    for (text, kind) in PHI {
        let findings = detect_phi(text);
        if findings.is_empty() {
            false_neg.push(*text);
        } else {
            true_pos += 1;
            if !findings.iter().any(|f| f.kind == *kind) {
                wrong_kind.push((*text, *kind, findings));
            }
        }
    }
    let mut false_pos = Vec::new();
    for text in CLEAN {
        let findings = detect_phi(text);
        if !findings.is_empty() {
            false_pos.push((*text, findings));
        }
    }
    let precision = true_pos as f64 / (true_pos + false_pos.len()) as f64;
    let recall = true_pos as f64 / PHI.len() as f64;
    println!(
        "PHI guard on {} PHI and {} clean messages: precision {precision:.3}, recall {recall:.3}",
        PHI.len(),
        CLEAN.len()
    );
    for text in &false_neg {
        println!("missed: {text}");
    }
    for (text, findings) in &false_pos {
        println!("false alarm: {text} {findings:?}");
    }
    for (text, kind, findings) in &wrong_kind {
        println!("found, but not {kind:?}: {text} {findings:?}");
    }
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.9, "recall {recall:.3}");
    assert!(wrong_kind.is_empty(), "findings of the wrong kind");
}

fn spans(text: &str) -> Vec<(PhiKind, &str)> {
    detect_phi(text).into_iter().map(|f| (f.kind, &text[f.start..f.end])).collect()
}

#[test]
fn ssn_offsets() {
    assert_eq!(spans("ssn: 123-45-6789."), [(PhiKind::Ssn, "123-45-6789")]);
    assert_eq!(spans("Social Security number is 123456789"), [(PhiKind::Ssn, "123456789")]);
    // A phone number is 3-3-4, not 3-2-4.
    assert!(spans("call 555-123-4567").is_empty());
    // The word alone is not PHI.
    assert!(spans("Please bring your Social Security card").is_empty());
}

#[test]
fn birth_date_offsets() {
    assert_eq!(spans("DOB 04/12/1985"), [(PhiKind::BirthDate, "04/12/1985")]);
    assert_eq!(spans("born 1985-04-12"), [(PhiKind::BirthDate, "1985-04-12")]);
    assert_eq!(spans("D.O.B.: April 12, 1985"), [(PhiKind::BirthDate, "April 12, 1985")]);
    assert!(spans("see you 04/12/2026").is_empty());
}

#[test]
fn record_and_member_ids() {
    assert_eq!(spans("MRN 448812"), [(PhiKind::RecordNumber, "448812")]);
    assert_eq!(spans("member ID XJH123456789"), [(PhiKind::MemberId, "XJH123456789")]);
    assert_eq!(spans("policy #: AB-99812"), [(PhiKind::MemberId, "AB-99812")]);
    assert_eq!(spans("Group number 48812"), [(PhiKind::MemberId, "48812")]);
    assert!(spans("bring your member ID card").is_empty());
    assert!(spans("Medicare 2026 open enrollment").is_empty());
}

#[test]
fn diagnoses_medications_and_labs_on_word_boundaries() {
    assert_eq!(spans("Your DIABETES visit"), [(PhiKind::Diagnosis, "DIABETES")]);
    assert_eq!(spans("anxiety disorder"), [(PhiKind::Diagnosis, "anxiety disorder")]);
    assert_eq!(spans("refill of Metformin 500"), [(PhiKind::Medication, "Metformin")]);
    // Substrings of other words do not count ("stds" in "standards" would not match anyway;
    // "uti" inside "utility", "hiv" inside "archive").
    assert!(spans("utility archive standards cancel").is_empty());
    assert_eq!(spans("A1c 7.2"), [(PhiKind::LabValue, "7.2")]);
    assert_eq!(spans("glucose 140 mg/dL"), [(PhiKind::LabValue, "140 mg/dL")]);
    assert_eq!(spans("your potassium was 5.9"), [(PhiKind::LabValue, "5.9")]);
    assert_eq!(spans("positive for strep"), [(PhiKind::LabValue, "positive for strep")]);
    assert!(spans("your lab results are ready").is_empty());
}

#[test]
fn offsets_are_char_boundaries_with_non_ascii_text() {
    let text = "Señora Núñez 😊 — DOB 04/12/1985, métformin no, metformin sí";
    for f in detect_phi(text) {
        assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
    }
    assert_eq!(spans(text), [(PhiKind::BirthDate, "04/12/1985"), (PhiKind::Medication, "metformin")]);
}

#[test]
fn describe_sentences() {
    assert_eq!(
        describe(&detect_phi("DOB 04/12/1985, MRN 448812, on lisinopril")),
        "This text looks like it contains a date of birth, a medical record number and a medication name."
    );
    assert_eq!(describe(&[]), "This text does not look like it contains health information.");
    for kind in PhiKind::ALL {
        assert!(kind.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        assert!(kind.label().starts_with("a ") || kind.label().starts_with("an "));
    }
}
