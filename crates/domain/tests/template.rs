//! Message templates: rendering, the variable list, and the checks run when admins save.

use frontdesk_domain::template::{
    KNOWN_VARIABLES, MAX_TEMPLATE_CHARS, TemplateError, TemplateValues, render, validate, variables,
};

fn full_context() -> TemplateValues {
    TemplateValues::new()
        .with("patient.first_name", "Maria")
        .with("patient.last_name", "López")
        .with("practice.name", "Riverside Pediatrics")
        .with("department.name", "Billing")
        .with("department.phone", "(555) 123-4567")
        .with("staff.first_name", "Jess")
        .with("staff.name", "Jess Park")
        .with("form.link", "https://frontdesk.example/f/ab12")
}

#[test]
fn renders_every_known_variable() {
    let template: String = KNOWN_VARIABLES.iter().map(|(name, _)| format!("[{{{name}}}]")).collect();
    assert_eq!(
        render(&template, &full_context()).unwrap(),
        "[Maria][López][Riverside Pediatrics][Billing][(555) 123-4567][Jess][Jess Park][https://frontdesk.example/f/ab12]"
    );
}

#[test]
fn renders_a_realistic_template() {
    let t = "Hi {patient.first_name}, this is {staff.first_name} at {practice.name}. Please fill this in: {form.link}";
    assert_eq!(
        render(t, &full_context()).unwrap(),
        "Hi Maria, this is Jess at Riverside Pediatrics. Please fill this in: https://frontdesk.example/f/ab12"
    );
    assert_eq!(render("no variables", &TemplateValues::new()).unwrap(), "no variables");
    // Spaces inside the braces are tolerated.
    assert_eq!(render("{ practice.name }", &full_context()).unwrap(), "Riverside Pediatrics");
}

#[test]
fn doubled_braces_are_literal() {
    assert_eq!(render("{{{practice.name}}}", &full_context()).unwrap(), "{Riverside Pediatrics}");
    assert_eq!(render("a {{ b }} c", &TemplateValues::new()).unwrap(), "a { b } c");
    assert_eq!(variables("{{patient.first_name}}").unwrap(), Vec::<String>::new());
}

#[test]
fn values_are_not_reinterpreted() {
    let values = TemplateValues::new().with("patient.first_name", "{staff.name}");
    assert_eq!(render("Hi {patient.first_name}", &values).unwrap(), "Hi {staff.name}");
}

#[test]
fn missing_values_explain_why() {
    let err = render("Hi {patient.first_name}", &TemplateValues::new()).unwrap_err();
    assert!(matches!(&err, TemplateError::MissingValue { name, position: 4, .. } if name == "patient.first_name"));
    assert!(
        err.to_string().starts_with("{patient.first_name} has no value: this conversation is not linked to a patient"),
        "{err}"
    );
    let err = render("{form.link}", &TemplateValues::new()).unwrap_err();
    assert!(err.to_string().contains("no form is attached"), "{err}");
    // Blank counts as missing.
    let blank = TemplateValues::new().with("patient.first_name", "  ");
    assert!(matches!(render("Hi {patient.first_name}", &blank), Err(TemplateError::MissingValue { .. })));
}

#[test]
fn syntax_errors_name_the_position() {
    let err = render("Hi {patient.first_name", &full_context()).unwrap_err();
    assert_eq!(err, TemplateError::UnclosedBrace { position: 4 });
    assert!(err.to_string().contains("character 4"), "{err}");
    assert_eq!(render("a {b {c}", &full_context()).unwrap_err(), TemplateError::UnclosedBrace { position: 3 });
    assert_eq!(render("a } b", &full_context()).unwrap_err(), TemplateError::UnmatchedClosingBrace { position: 3 });
    assert_eq!(render("x{}", &full_context()).unwrap_err(), TemplateError::EmptyName { position: 2 });
    assert_eq!(render("x{  }", &full_context()).unwrap_err(), TemplateError::EmptyName { position: 2 });
    let err = render("Hi {patient.firstname}", &full_context()).unwrap_err();
    assert_eq!(err, TemplateError::UnknownVariable { name: "patient.firstname".into(), position: 4 });
    assert_eq!(err.to_string(), "{patient.firstname} at character 4 is not a known variable");
}

#[test]
fn variables_lists_each_name_once_in_order() {
    assert_eq!(
        variables("{practice.name} {patient.first_name} {practice.name} {custom.thing}").unwrap(),
        ["practice.name", "patient.first_name", "custom.thing"]
    );
    assert_eq!(variables("{oops").unwrap_err(), TemplateError::UnclosedBrace { position: 1 });
}

#[test]
fn validate_on_save() {
    assert_eq!(validate("Hi {patient.first_name}, call {department.phone}."), Ok(()));
    assert_eq!(validate(""), Err(TemplateError::Empty));
    assert_eq!(validate(" \n "), Err(TemplateError::Empty));
    assert_eq!(validate("{nope}"), Err(TemplateError::UnknownVariable { name: "nope".into(), position: 1 }));
    assert_eq!(validate("{"), Err(TemplateError::UnclosedBrace { position: 1 }));
    let at_limit = "é".repeat(MAX_TEMPLATE_CHARS);
    assert_eq!(validate(&at_limit), Ok(()));
    let over = "é".repeat(MAX_TEMPLATE_CHARS + 1);
    assert_eq!(validate(&over), Err(TemplateError::TooLong { chars: 1601, max: 1600 }));
    assert_eq!(validate(&over).unwrap_err().to_string(), "the template is 1601 characters long; the limit is 1600");
}

#[test]
fn every_known_variable_has_a_description() {
    for (name, description) in KNOWN_VARIABLES {
        assert!(name.contains('.') && !description.is_empty());
        assert_eq!(validate(&format!("{{{name}}}")), Ok(()));
    }
}
