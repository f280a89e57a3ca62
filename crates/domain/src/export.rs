//! Rules for files people open in spreadsheets (audit log and report CSV exports).

/// One CSV field: RFC 4180 quoting, and a leading `'` before `=`, `+`, `-`, `@`, tab or
/// carriage return, so a spreadsheet never runs a cell someone typed (a name, a detail) as a
/// formula.
pub fn csv_field(value: &str) -> String {
    let guarded =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) { format!("\"{}\"", guarded.replace('"', "\"\"")) } else { guarded }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn formulas_are_defused_and_separators_quoted() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1 555"), "'+1 555");
        assert_eq!(csv_field("Front desk, north"), "\"Front desk, north\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
