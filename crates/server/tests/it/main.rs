//! End-to-end tests: the real app on 127.0.0.1:0, a temporary SQLite data directory, and a
//! fake Twilio. One binary, so the app crate is linked once.

mod api;
mod consent;
mod inbound;
mod ops;
mod outbound;
mod simulator;
mod support;
