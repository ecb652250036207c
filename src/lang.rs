//! The language of operator-facing text. loaxa speaks Vietnamese by default and English on
//! request; every message is written in both at its call site with [`Lang::pick`], so a
//! message and its translation are reviewed together.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// Chooses the text for this language.
    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    /// Parses `vi` / `en` (case-insensitive, with common spellings).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vi" | "vi_vn" | "vi-vn" | "vietnamese" | "tieng-viet" => Some(Lang::Vi),
            "en" | "en_us" | "en-us" | "en_gb" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// A weekday as a timetable heads its column (`Thứ Hai`, `Mon`).
    pub fn weekday(self, d: chrono::Weekday) -> &'static str {
        let vi = [
            "Thứ Hai",
            "Thứ Ba",
            "Thứ Tư",
            "Thứ Năm",
            "Thứ Sáu",
            "Thứ Bảy",
            "Chủ Nhật",
        ];
        let en = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let i = d.num_days_from_monday() as usize;
        self.pick(vi[i], en[i])
    }

    /// A weekday in a table's narrow column (`T2`, `CN`, `Mon`).
    pub fn weekday_short(self, d: chrono::Weekday) -> &'static str {
        let vi = ["T2", "T3", "T4", "T5", "T6", "T7", "CN"];
        let en = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let i = d.num_days_from_monday() as usize;
        self.pick(vi[i], en[i])
    }

    /// A length of time as an operator says it, to the minute once it is a minute or more
    /// (`11 phút`, `2 giờ 5 phút`, `40 giây`; `11 min`, `2 h 5 min`, `40 s`).
    pub fn span(self, seconds: i64) -> String {
        let s = seconds.max(0);
        let (h, m) = (s / 3600, s % 3600 / 60);
        match (h, m, self) {
            (0, 0, Lang::Vi) => format!("{s} giây"),
            (0, 0, Lang::En) => format!("{s} s"),
            (0, m, Lang::Vi) => format!("{m} phút"),
            (0, m, Lang::En) => format!("{m} min"),
            (h, 0, Lang::Vi) => format!("{h} giờ"),
            (h, 0, Lang::En) => format!("{h} h"),
            (h, m, Lang::Vi) => format!("{h} giờ {m} phút"),
            (h, m, Lang::En) => format!("{h} h {m} min"),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Formats a message in the chosen language: `tr!(lang, "vi {x}", "en {x}", x = 1)`.
#[macro_export]
macro_rules! tr {
    ($lang:expr, $vi:literal, $en:literal $(, $($arg:tt)*)?) => {
        match $lang {
            $crate::lang::Lang::Vi => format!($vi $(, $($arg)*)?),
            $crate::lang::Lang::En => format!($en $(, $($arg)*)?),
        }
    };
}
