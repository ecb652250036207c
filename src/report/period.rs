//! The span a report covers: a month, a quarter, a year or any days, in the station's zone.

use super::*;

/// The span a report covers, in the station's days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
    Days { from: NaiveDate, to: NaiveDate },
}

impl Period {
    /// `2025-09`.
    pub fn month(s: &str) -> Option<Period> {
        let (y, m) = s.trim().split_once('-')?;
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Period::Month { year, month })
    }

    /// `2025-Q3` (also `2025-q3`, `2025-3`).
    pub fn quarter(s: &str) -> Option<Period> {
        let (y, q) = s.trim().split_once('-')?;
        let q = q.trim_start_matches(['Q', 'q']);
        let (year, quarter) = (y.parse().ok()?, q.parse().ok()?);
        ((1..=4).contains(&quarter) && NaiveDate::from_ymd_opt(year, 1, 1).is_some())
            .then_some(Period::Quarter { year, quarter })
    }

    /// First and last day, inclusive.
    pub fn days(&self) -> (NaiveDate, NaiveDate) {
        let month_span = |year: i32, first: u32, months: u32| {
            let start = NaiveDate::from_ymd_opt(year, first, 1).unwrap_or_default();
            let next = start
                .checked_add_months(chrono::Months::new(months))
                .unwrap_or(start);
            (start, next.pred_opt().unwrap_or(start))
        };
        match *self {
            Period::Month { year, month } => month_span(year, month, 1),
            Period::Quarter { year, quarter } => month_span(year, (quarter - 1) * 3 + 1, 3),
            Period::Days { from, to } => (from, to),
        }
    }

    pub fn label(&self, lang: Lang) -> String {
        match *self {
            Period::Month { year, month } => tr!(lang, "tháng {month}/{year}", "{year}-{month:02}"),
            Period::Quarter { year, quarter } => {
                let roman = ["I", "II", "III", "IV"][(quarter - 1) as usize % 4];
                tr!(lang, "quý {roman}/{year}", "Q{quarter} {year}")
            }
            Period::Days { from, to } => tr!(
                lang,
                "từ {} đến {}",
                "{} to {}",
                from.format("%d/%m/%Y"),
                to.format("%d/%m/%Y")
            ),
        }
    }

    /// The instants `[start, end)` covering the period's days in the station's zone.
    pub fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let (from, to) = self.days();
        let start =
            local_to_utc(tz, from.and_hms_opt(0, 0, 0).unwrap_or_default()).unwrap_or_default();
        let end = local_to_utc(
            tz,
            (to + chrono::Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        )
        .unwrap_or_default();
        (start, end)
    }
}

/// Month of a date, for callers that default the period.
pub fn month_of(d: NaiveDate) -> Period {
    Period::Month {
        year: d.year(),
        month: d.month(),
    }
}
