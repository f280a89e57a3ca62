//! Line-oriented front end to `frontdesk_domain::sms` for the segment oracle
//! (`oracles/segments/compare.mjs`) and for trying texts by hand.
//!
//! Reads one JSON string per line on stdin and prints, per line, the JSON `SegmentInfo` of
//! that text plus `"parts"`, the segments as `split_segments` cuts them:
//!
//! ```text
//! $ echo '"héllo €"' | cargo run -q -p frontdesk-domain --example segments_json
//! {"encoding":"GSM-7","segments":1,"characters":7,"units":8,"per_segment":160,"non_gsm_characters":[],"parts":["héllo €"]}
//! ```
//!
//! A line that is not a JSON string gets `{"error": "..."}`, so output stays line-aligned.

use frontdesk_domain::sms::{SegmentInfo, analyze, split_segments};
use std::io::{self, BufRead, BufWriter, Write};

#[derive(serde::Serialize)]
struct Output {
    #[serde(flatten)]
    info: SegmentInfo,
    parts: Vec<String>,
}

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        let json = match serde_json::from_str::<String>(&line) {
            Ok(text) => serde_json::to_string(&Output { info: analyze(&text), parts: split_segments(&text) }),
            Err(error) => serde_json::to_string(&serde_json::json!({ "error": error.to_string() })),
        }
        .map_err(io::Error::other)?;
        writeln!(out, "{json}")?;
    }
    out.flush()
}
