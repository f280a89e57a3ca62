//! `frontdesk audit verify`: walks the audit log's hash chain with a progress line on stderr.

use std::io::{IsTerminal, Write as _};

use anyhow::bail;
use frontdesk_store::Store;
use frontdesk_store::audit::verify_chain;

pub async fn run(store: &dyn Store) -> anyhow::Result<()> {
    let live = std::io::stderr().is_terminal();
    let mut last_shown = std::time::Instant::now();
    let mut on_progress = |checked: u64, total: u64| {
        // A terminal gets one line rewritten in place; a log gets a line every two seconds.
        let every = if live { 100 } else { 2_000 };
        if last_shown.elapsed().as_millis() >= every {
            last_shown = std::time::Instant::now();
            let mut err = std::io::stderr().lock();
            let line = format!("  verifying the audit chain: {checked} / {total} entries");
            let _ = if live { write!(err, "\r\x1b[2K{line}") } else { writeln!(err, "{line}") };
            let _ = err.flush();
        }
    };
    eprintln!("Verifying the audit log ({} database)...", store.backend());
    let report = verify_chain(store, &mut on_progress).await?;
    if live {
        eprint!("\r\x1b[2K");
    }
    eprintln!("  checked {} chained entries", report.checked);
    if let Some(problem) = report.problem {
        bail!("the audit log has been tampered with: {problem} ({} entries before it verified)", report.checked);
    }
    let older = if report.unchained > 0 {
        format!(" ({} older entries predate the chain and are counted, not hashed)", report.unchained)
    } else {
        String::new()
    };
    println!("audit log intact: {} entries verified{older}", report.checked);
    Ok(())
}
