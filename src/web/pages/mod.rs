//! The console's pages, server-rendered from compiled-in templates: Now, Timetable, Library,
//! Record, Emergency, Log, Report, Health, and the login. Each reads what it shows through
//! [`super::view`] (the same data the JSON API serves); work that touches the disk runs off
//! the async thread. One file a page.

mod emergency;
mod health;
mod library;
mod log;
mod login;
mod now;
mod record;
mod report;
mod timetable;

pub(in crate::web) use emergency::*;
pub(in crate::web) use health::*;
pub(in crate::web) use library::*;
pub(crate) use log::day_span;
pub(in crate::web) use log::*;
pub(crate) use login::language;
pub(in crate::web) use login::*;
pub(in crate::web) use now::*;
pub(in crate::web) use record::*;
pub(in crate::web) use report::*;
pub(crate) use report::{bar_chart, download, report_body};
pub(in crate::web) use timetable::*;
