//! loaxa, the commune loudspeaker: a daemon that airs a commune radio station's scheduled
//! announcement clips on the second and journals every broadcast as evidence that the
//! commune's communication plan was carried out.
//!
//! The binary is a thin shell over this library so that tests can drive every part
//! (clock, output, shutdown) directly.

// Every `pub` item is part of the library's face (the binary, the tests, the benches use
// it); one only the crate reaches says so with `pub(crate)`.
#![warn(unreachable_pub)]

pub mod audio;
pub mod backlog;
pub mod broadcast;
pub mod bulletin;
pub mod catalog;
pub mod central;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod decoder;
pub mod diagnostic;
pub mod doctor;
pub mod files;
pub mod hex;
pub mod history;
pub mod install;
pub mod journal;
pub mod lang;
pub mod library;
pub mod logging;
pub mod mailbox;
pub mod net;
pub mod planner;
pub mod province;
pub mod recurrence;
pub mod relay;
pub mod report;
pub mod schedule;
pub mod shutdown;
pub mod sidecar;
pub mod station;
pub mod status;
pub mod stream;
pub mod sync;
pub mod systemd;
pub mod usage;
pub mod watch;
pub mod web;
