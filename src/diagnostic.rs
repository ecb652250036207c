//! Located problems in operator-written files, printed like a compiler's:
//! `file:line:col: message`, then the offending line and a caret under the spot.
//! Validation collects every diagnostic before reporting, so one run shows all problems.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::lang::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem at one place in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based line and column (columns count characters, not bytes).
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// The text of the offending line, without its newline.
    pub source_line: String,
    /// How many characters of the line the problem spans (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// Locates `span` (byte offsets into `text`) for a diagnostic in `file`.
    pub fn at(
        severity: Severity,
        file: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let start = span.start.min(text.len());
        let start = floor_char_boundary(text, start);
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let col = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        let end = floor_char_boundary(text, span.end.clamp(start, line_end));
        let width = text[start..end].chars().count().max(1);
        Diagnostic {
            severity,
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
            source_line,
            width,
        }
    }

    pub fn error(file: &Path, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        Self::at(Severity::Error, file, text, span, message)
    }

    pub fn warning(
        file: &Path,
        text: &str,
        span: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Self::at(Severity::Warning, file, text, span, message)
    }

    /// A problem with a whole file (it cannot be read, say), reported at 1:1.
    /// Bytes that are not UTF-8, said at the first one that is not (none if they all are):
    /// a schedule saved in another encoding must be refused where it goes wrong, not read
    /// with its letters replaced.
    pub fn not_utf8(file: &Path, bytes: &[u8], lang: crate::lang::Lang) -> Option<Self> {
        let at = std::str::from_utf8(bytes).err()?.valid_up_to();
        // The lossy text is the bytes themselves up to `at`, where it puts U+FFFD.
        let text = String::from_utf8_lossy(bytes);
        Some(Self::error(
            file,
            &text,
            at..at + '\u{FFFD}'.len_utf8(),
            crate::tr!(
                lang,
                "không phải văn bản UTF-8 (byte 0x{:02X}): hãy lưu tệp ở mã UTF-8",
                "not UTF-8 text (byte 0x{:02X}): save the file as UTF-8",
                bytes[at]
            ),
        ))
    }

    pub fn whole_file(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line: 1,
            col: 1,
            message: message.into(),
            source_line: String::new(),
            width: 1,
        }
    }

    /// The same problem as a warning: what stops another process does not stop this one.
    pub fn as_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders in the operator's language, with the offending line and a caret.
    pub fn render(&self, lang: Lang) -> String {
        let label = match self.severity {
            Severity::Error => lang.pick("lỗi", "error"),
            Severity::Warning => lang.pick("cảnh báo", "warning"),
        };
        // Shown relative to where the operator stands, as compilers do.
        let shown = std::env::current_dir()
            .ok()
            .and_then(|cwd| self.file.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| self.file.clone());
        let mut out = format!(
            "{}:{}:{}: {}: {}",
            shown.display(),
            self.line,
            self.col,
            label,
            self.message
        );
        if !self.source_line.is_empty() {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let lead: String = self
                .source_line
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!(
                "\n{pad} |\n{gutter} | {}\n{pad} | {lead}{}",
                self.source_line,
                "^".repeat(self.width)
            ));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Turns a TOML syntax or shape error into a located diagnostic.
pub fn from_toml_error(file: &Path, text: &str, err: &toml::de::Error, lang: Lang) -> Diagnostic {
    let span = err.span().unwrap_or(0..0);
    Diagnostic::error(
        file,
        text,
        span,
        translate_toml_message(err.message(), lang),
    )
}

/// serde/toml messages are English; the common ones are translated for operators.
fn translate_toml_message(msg: &str, lang: Lang) -> String {
    let msg = msg.trim();
    if msg.contains("untagged enum PlayItem") {
        return lang
            .pick(
                "mỗi mục trong `play` là một tên tệp, hoặc { file = \"…\", topic = \"…\" }",
                "each `play` item is a file name, or { file = \"…\", topic = \"…\" }",
            )
            .to_string();
    }
    if lang == Lang::En {
        return msg.to_string();
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(',')
            .trim()
            .replace("expected one of", "các khóa hợp lệ:")
            .replace("expected", "khóa hợp lệ:");
        return format!("khóa không hợp lệ `{name}`; {expected}");
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        return format!("thiếu khóa bắt buộc `{name}`");
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        return format!("sai kiểu giá trị: {rest}");
    }
    format!("lỗi cú pháp TOML: {msg}")
}

/// A TOML date (`2025-09-02` bare or quoted), for the located checkers of schedules and
/// sidecars.
pub(crate) fn date_value(v: &toml::Value) -> Option<chrono::NaiveDate> {
    match v {
        toml::Value::String(s) => chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok(),
        toml::Value::Datetime(d) => match (d.date, d.time) {
            (Some(date), None) => chrono::NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            ),
            _ => None,
        },
        _ => None,
    }
}

/// What a bad date is told.
pub(crate) fn bad_date(lang: Lang) -> &'static str {
    lang.pick(
        "ngày không hợp lệ: dùng dạng NĂM-THÁNG-NGÀY, ví dụ 2025-09-02",
        "invalid date: use YEAR-MONTH-DAY, for example 2025-09-02",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column_in_characters() {
        let text = "a = 1\ntên = \"sai\"\n";
        let start = text.find("\"sai\"").unwrap();
        let d = Diagnostic::error(Path::new("x.toml"), text, start..start + 5, "bad");
        assert_eq!((d.line, d.col, d.width), (2, 7, 5));
        assert_eq!(d.source_line, "tên = \"sai\"");
        let shown = d.render(Lang::En);
        assert!(shown.starts_with("x.toml:2:7: error: bad"), "{shown}");
        assert!(shown.contains("2 | tên = \"sai\""), "{shown}");
        assert!(shown.ends_with("|       ^^^^^"), "{shown}");
    }

    #[test]
    fn span_past_end_is_clamped() {
        let d = Diagnostic::error(Path::new("x.toml"), "abc", 10..20, "m");
        assert_eq!((d.line, d.col), (1, 4));
    }
}
