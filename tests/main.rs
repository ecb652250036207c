//! loaxa's integration tests, one binary: each module is a spec of one part of the station,
//! driven through the real binary in a temporary station folder, the daemon in-process on a
//! fake clock, or a real audio stack (a private PulseAudio with a null sink). `support` is
//! their shared harness.
//!
//! The tests run as many at a time as the machine has cores, each in its turn
//! (`support::alone` / `support::shared`): many of them measure real time — an onset on the
//! null sink, a daemon's reaction within a second — and run with nothing beside them; the
//! tests on a fake clock or a database alone run beside each other.

mod architecture;
mod browser;
mod bulletins;
mod central;
mod cli;
mod daemon_time;
mod device_loss;
mod drop_folder;
mod example_station;
mod install;
mod journal_full;
mod live;
mod onair;
mod province;
mod recovery;
mod relay;
mod report;
mod service;
mod stream;
mod support;
mod tamper;
mod web;
