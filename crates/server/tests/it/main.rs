//! End-to-end tests: the real app on 127.0.0.1:0, a temporary SQLite data directory, and a
//! fake Twilio (and fakes of Telnyx and Bandwidth in `providers`). One binary, so the app crate is linked once.

mod after_hours;
mod api;
mod audit;
mod auth;
mod authz;
mod chart;
mod cluster;
mod consent;
mod dashboard;
mod departments;
mod forms;
mod front_door;
mod inbound;
mod ops;
mod outbound;
mod outreach;
mod patients;
mod providers;
mod referrals;
mod reports;
mod simulator;
mod support;
mod triage;
