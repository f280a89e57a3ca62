//! SQLite's `DepartmentSettingsReads` (the writes run on the writer thread:
//! `writer/department_settings.rs`).

use super::SqliteStore;

crate::department_settings::sqlx_reads!(SqliteStore);
