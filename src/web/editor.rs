//! Editing a schedule in the browser: the text is checked exactly as `validate` checks it
//! (against the other schedule files, so plan ids stay unique) and its errors shown at their
//! line and column before anything is saved; a diff against the version in force is shown;
//! saving writes a temporary file and renames it, so the daemon sees the whole new version or
//! none, and a version it rejects leaves the previous one in force.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;

use crate::web::input::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::blocking;
use super::view::{render, Chrome};
use super::{App, Refusal, Visitor};
use crate::diagnostic::Diagnostic;
use crate::lang::Lang;
use crate::mailbox::What;
use crate::tr;

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    c: Chrome,
    file: String,
    base: String,
    text: String,
    diagnostics: Vec<String>,
    has_errors: bool,
    diff: Vec<DiffLine>,
    checked: bool,
    saved: Option<String>,
}

const NEW_FILE: &str = r#"# Lịch phát mới: xem README, mục "Schedules"
[plan]
id = "ke-hoach-moi"
title = "Kế hoạch mới"

[[slot]]
id = "sang"
title = "Bản tin sáng"
at = "06:00"
days = "daily"
queue = "cchc"
"#;

/// A schedule file's name as the console accepts it: lower-case letters, digits, `-`, `_`,
/// ending in `.toml` (no folders, nothing hidden).
pub(super) fn checked_name(name: &str, lang: Lang) -> Result<String, Refusal> {
    let stem = name.strip_suffix(".toml").unwrap_or("");
    if stem.is_empty()
        || !stem
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(Refusal::Invalid(tr!(
            lang,
            "tên tệp lịch chỉ gồm chữ thường không dấu, số, - và _, kết thúc bằng .toml: {name:?}",
            "a schedule file name is lower-case letters, digits, - and _, ending in .toml: {name:?}"
        )));
    }
    Ok(name.to_string())
}

fn sha(text: &str) -> String {
    crate::hex::hex(&Sha256::digest(text.as_bytes()))
}

/// What is on disk now, and its hash (empty for a new file).
fn on_disk(app: &App, name: &str) -> (String, String) {
    match std::fs::read_to_string(app.config.schedules_dir.join(name)) {
        Ok(t) => {
            let h = sha(&t);
            (t, h)
        }
        Err(_) => (String::new(), String::new()),
    }
}

/// Checks `text` as the schedule file `name`, beside the other files as they stand: the
/// diagnostics `validate` would print, each rendered at its line and column.
pub(super) fn validate_text(
    app: &App,
    name: &str,
    text: &str,
    lang: Lang,
) -> Result<Vec<Diagnostic>, Refusal> {
    let dir = &app.config.schedules_dir;
    // The folder as it would be after the save, in memory: the other files as they stand.
    let mut files = crate::schedule::read_folder(dir)
        .map_err(|e| Refusal::Failed(format!("{}: {e}", dir.display())))?;
    let path = dir.join(name);
    files.retain(|(p, _)| *p != path);
    files.push((path, Ok(text.to_string())));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let probes = crate::library::ProbeCache::default();
    let mut ctx = crate::schedule::Context::for_station(&app.config, Some(&probes));
    ctx.lang = lang;
    Ok(crate::schedule::load_files(dir, files, &ctx).1)
}

/// One line of a diff: `same`, `add` or `del`.
pub(super) struct DiffLine {
    pub(super) kind: &'static str,
    pub(super) line: String,
}

/// A line diff (longest common subsequence): each line kept, added or removed.
pub(super) fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut all = Vec::new();
    let line = |kind, l: &str| DiffLine {
        kind,
        line: l.to_string(),
    };
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            all.push(line("same", a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // The old line before the new one that replaces it.
            all.push(line("del", a[i]));
            i += 1;
        } else {
            all.push(line("add", b[j]));
            j += 1;
        }
    }
    // Only the changed lines, each with a little context; `skip` stands for what is left out.
    let near = |k: usize| {
        let lo = k.saturating_sub(DIFF_CONTEXT);
        let hi = (k + DIFF_CONTEXT).min(all.len().saturating_sub(1));
        (lo..=hi).any(|x| all[x].kind != "same")
    };
    let keep: Vec<bool> = (0..all.len()).map(near).collect();
    let mut out = Vec::new();
    for (k, l) in all.into_iter().enumerate() {
        if keep[k] {
            out.push(l);
        } else if k == 0 || keep[k - 1] {
            out.push(line("skip", "…"));
        }
    }
    out
}

/// Unchanged lines shown around each change.
const DIFF_CONTEXT: usize = 2;

#[derive(Deserialize)]
pub(super) struct FileQuery {
    file: String,
    /// Set by the redirect after a save: the page says it was saved.
    #[serde(default)]
    saved: bool,
}

pub(super) async fn edit(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Query(q): Query<FileQuery>,
) -> Response {
    let name = match checked_name(&q.file, v.lang) {
        Ok(n) => n,
        Err(r) => return r.into_response(),
    };
    let (text, base) = on_disk(&app, &name);
    let text = if base.is_empty() {
        NEW_FILE.to_string()
    } else {
        text
    };
    // Just saved: said so, with the warnings the saved text still has.
    let (saved, diagnostics) = if q.saved {
        let lang = v.lang;
        let said = tr!(
            lang,
            "đã lưu {name}; loaxa áp dụng ngay",
            "{name} saved; loaxa applies it at once"
        );
        let (n, t) = (name.clone(), text.clone());
        let warnings = blocking(&app, move |a| validate_text(a, &n, &t, lang))
            .await
            .unwrap_or_default();
        (
            Some(said),
            warnings.iter().map(|d| d.render(lang)).collect(),
        )
    } else {
        (None, Vec::new())
    };
    render(&EditPage {
        c: Chrome::new(&app, &v, "timetable"),
        file: name,
        base,
        text,
        diagnostics,
        has_errors: false,
        diff: Vec::new(),
        checked: false,
        saved,
    })
}

/// The editor's form: the file, the version it was opened at, and the text.
pub(super) struct EditForm {
    file: String,
    base: String,
    text: String,
}

impl EditForm {
    /// Decodes the form's body strictly: a text that is not UTF-8 is refused where it goes
    /// wrong (a lenient decoder would save U+FFFD in place of its letters), and its lines
    /// end as the file's do (a browser sends every line with CRLF; a new file gets LF).
    fn read(app: &App, body: &[u8], lang: Lang) -> Result<EditForm, Refusal> {
        let mut fields: std::collections::HashMap<String, Vec<u8>> = Default::default();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let mut kv = pair.splitn(2, |b| *b == b'=');
            let key = crate::net::percent_decode(kv.next().unwrap_or_default());
            let value = crate::net::percent_decode(kv.next().unwrap_or_default());
            fields.insert(String::from_utf8_lossy(&key).into_owned(), value);
        }
        let mut take = |name: &str| fields.remove(name).unwrap_or_default();
        let (file, base, text) = (take("file"), take("base"), take("text"));
        let file = String::from_utf8(file).map_err(|_| {
            Refusal::Invalid(
                lang.pick("tên tệp không hợp lệ", "invalid file name")
                    .into(),
            )
        })?;
        let base = String::from_utf8_lossy(&base).into_owned();
        if let Some(d) = Diagnostic::not_utf8(std::path::Path::new(&file), &text, lang) {
            return Err(Refusal::Invalid(d.render(lang)));
        }
        let text = String::from_utf8(text).unwrap_or_default();
        let (current, _) = on_disk(app, &checked_name(&file, lang)?);
        Ok(EditForm {
            text: same_line_endings(&text, &current),
            file,
            base,
        })
    }
}

/// `text` with its lines ending as `current`'s do: CRLF if the file on disk has them, LF
/// otherwise — so a save from a browser changes only the lines the operator changed.
fn same_line_endings(text: &str, current: &str) -> String {
    let lf = text.replace("\r\n", "\n");
    if current.contains("\r\n") {
        lf.replace('\n', "\r\n")
    } else {
        lf
    }
}

fn checked_page(
    app: &App,
    v: &Visitor,
    f: &EditForm,
    saved: Option<String>,
) -> Result<(EditPage, bool), Refusal> {
    let name = checked_name(&f.file, v.lang)?;
    let diagnostics = validate_text(app, &name, &f.text, v.lang)?;
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    let (current, _) = on_disk(app, &name);
    Ok((
        EditPage {
            c: Chrome::new(app, v, "timetable"),
            diff: if current == f.text {
                Vec::new()
            } else {
                diff(&current, &f.text)
            },
            diagnostics: diagnostics.iter().map(|d| d.render(v.lang)).collect(),
            has_errors,
            file: name,
            base: f.base.clone(),
            text: f.text.clone(),
            checked: true,
            saved,
        },
        has_errors,
    ))
}

/// "Check": shows the located errors and the diff; offers to save only a text without errors.
pub(super) async fn check_form(app: &Arc<App>, v: Visitor, f: EditForm) -> Response {
    match blocking(app, move |a| checked_page(a, &v, &f, None)).await {
        Ok((p, errors)) => {
            let mut r = render(&p);
            if errors {
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            r
        }
        Err(r) => r.into_response(),
    }
}

pub(super) async fn check(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    crate::web::input::Body(body): crate::web::input::Body,
) -> Response {
    let lang = v.lang;
    match blocking(&app, move |a| EditForm::read(a, &body, lang)).await {
        Ok(f) => check_form(&app, v, f).await,
        Err(r) => r.into_response(),
    }
}

pub(super) async fn save(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    crate::web::input::Body(body): crate::web::input::Body,
) -> Response {
    let done = blocking(&app, move |a| -> Result<Response, Refusal> {
        let lang = v.lang;
        let f = EditForm::read(a, &body, lang)?;
        let name = checked_name(&f.file, lang)?;
        let (_, current) = on_disk(a, &name);
        if current != f.base {
            return Err(Refusal::Invalid(tr!(
                lang,
                "{name} đã bị sửa ở nơi khác từ lúc mở: hãy mở lại và sửa trên bản mới",
                "{name} was changed elsewhere since it was opened: open it again and edit the new version"
            )));
        }
        let (page, errors) = checked_page(a, &v, &f, None)?;
        if errors {
            let mut r = render(&page);
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(r);
        }
        let path = a.config.schedules_dir.join(&name);
        let mut action = v.action(What::ScheduleSaved);
        action.file = Some(name.clone());
        action.sha256 = Some(sha(&f.text));
        a.record(action)?;
        crate::files::replace(&path, f.text.as_bytes())
            .map_err(|e| Refusal::Failed(format!("{}: {e}", path.display())))?;
        // Redirected after the post: a reload shows the page again, it does not post again.
        let to = format!(
            "/timetable/edit?file={}&saved=true",
            crate::net::percent_encode(&name)
        );
        Ok((StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, to)]).into_response())
    })
    .await;
    done.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_text_keeps_the_files_line_endings() {
        // A browser sends CRLF; an LF file (or a new one) keeps LF, a CRLF file keeps CRLF.
        assert_eq!(same_line_endings("a\r\nb\r\n", "x\n"), "a\nb\n");
        assert_eq!(same_line_endings("a\r\nb\r\n", ""), "a\nb\n");
        assert_eq!(same_line_endings("a\r\nb\n", "x\r\ny\r\n"), "a\r\nb\r\n");
    }

    #[test]
    fn a_diff_keeps_adds_and_removes_lines() {
        let d = diff("a\nb\nc\n", "a\nB\nc\nd\n");
        let kinds: Vec<&str> = d.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, vec!["same", "del", "add", "same", "add"]);
        // A change in a long file: its hunk and two lines either side, the rest left out.
        let old: String = (1..=60).map(|i| format!("{i}\n")).collect();
        let new = old.replace("30\n", "ba mươi\n");
        let d: Vec<String> = diff(&old, &new)
            .iter()
            .map(|l| format!("{} {}", l.kind, l.line))
            .collect();
        assert_eq!(
            d,
            [
                "skip …",
                "same 28",
                "same 29",
                "del 30",
                "add ba mươi",
                "same 31",
                "same 32",
                "skip …"
            ]
        );
    }

    #[test]
    fn schedule_names_are_plain() {
        assert!(checked_name("sang-chieu.toml", Lang::Vi).is_ok());
        for bad in [
            "../x.toml",
            ".an.toml",
            "a/b.toml",
            "x.txt",
            ".toml",
            "Ă.toml",
        ] {
            assert!(checked_name(bad, Lang::Vi).is_err(), "{bad}");
        }
    }
}
