//! The commune's report: for a month, a quarter or any span, what the plan called for and
//! what actually aired — per plan item (topic) and per slot, the completion ratio as the
//! commune's administrative-reform index scores it, every occurrence that did not air in
//! full and why, and every clip aired with its content hash. Computed from the journal alone
//! (plan titles come from the schedule versions it stored), so the same journal always gives
//! the same numbers; every report pins the journal's chain head.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::journal::{Journal, JournalError, Outcome};
use crate::lang::Lang;
use crate::recurrence::local_to_utc;
use crate::schedule::{self, Context};
use crate::tr;

mod build;
mod period;
mod render;
mod table;

pub use build::*;
pub use period::*;
pub use render::*;
pub use table::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_bound() {
        assert_eq!(
            Period::month("2025-09").unwrap().days(),
            (
                NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(),
                NaiveDate::from_ymd_opt(2025, 9, 30).unwrap()
            )
        );
        assert_eq!(
            Period::quarter("2025-Q4").unwrap().days(),
            (
                NaiveDate::from_ymd_opt(2025, 10, 1).unwrap(),
                NaiveDate::from_ymd_opt(2025, 12, 31).unwrap()
            )
        );
        assert_eq!(
            Period::month("2024-02").unwrap().days().1,
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert!(Period::month("2025-13").is_none());
        assert!(Period::quarter("2025-Q5").is_none());
        assert_eq!(
            Period::quarter("2025-Q3").unwrap().label(Lang::Vi),
            "quý III/2025"
        );
    }

    #[test]
    fn the_index_scores_as_the_commune_guidance_says() {
        assert_eq!(index_score(100.0), 1.0);
        assert_eq!(index_score(95.5), 0.955);
        assert_eq!(index_score(90.0), 0.9);
        assert_eq!(index_score(89.9), 0.0);
    }
}
