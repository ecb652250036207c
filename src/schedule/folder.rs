//! The schedules folder: read one way for the loader, the daemon's reload and the console's
//! check; validated as a set (plan ids unique across files); refreshed in place.

use super::*;

/// The schedule files of a folder as they stand: every `*.toml` but hidden ones (an editor's
/// or a save's temporary), sorted by name, each with its text or why it could not be read.
/// The one way the loader, the daemon's reload and the console's check read the folder.
pub fn read_folder(dir: &Path) -> std::io::Result<Vec<(PathBuf, std::io::Result<String>)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "toml")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                && p.is_file()
        })
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p);
            (p, text)
        })
        .collect())
}

/// A file that could not be read, said at the file (or where it stops being UTF-8).
pub(super) fn unreadable(path: &Path, e: &std::io::Error, lang: Lang) -> Diagnostic {
    if e.kind() == std::io::ErrorKind::InvalidData {
        if let Some(d) = std::fs::read(path)
            .ok()
            .and_then(|b| Diagnostic::not_utf8(path, &b, lang))
        {
            return d;
        }
    }
    Diagnostic::whole_file(
        path,
        tr!(lang, "không đọc được tệp: {e}", "cannot read the file: {e}"),
    )
}

/// A plan id another file already uses, located at the id in `text`.
pub(super) fn plan_id_clash(
    path: &Path,
    text: &str,
    id: &str,
    other: &Path,
    lang: Lang,
) -> Diagnostic {
    let span = text
        .find(&format!("\"{id}\""))
        .map(|i| i..i + id.len() + 2)
        .unwrap_or(0..0);
    Diagnostic::error(
        path,
        text,
        span,
        tr!(
            lang,
            "mã kế hoạch «{}» đã dùng trong {}",
            "plan id “{}” is already used in {}",
            id,
            other.display()
        ),
    )
}

/// Loads every `*.toml` in the schedules folder (sorted by name), validating each and the
/// set as a whole (plan ids are unique across files).
pub fn load_dir(dir: &Path, ctx: &Context<'_>) -> (Schedules, Vec<Diagnostic>) {
    match read_folder(dir) {
        Ok(files) => load_files(dir, files, ctx),
        Err(e) => (
            Schedules::default(),
            vec![Diagnostic::whole_file(
                dir,
                tr!(
                    ctx.lang,
                    "không đọc được thư mục lịch phát: {e}",
                    "cannot read the schedules folder: {e}"
                ),
            )],
        ),
    }
}

/// Validates a folder's files as read by [`read_folder`] (or as they would be after a save:
/// the console checks an edit this way, in memory), each and as a set.
pub fn load_files(
    dir: &Path,
    files: Vec<(PathBuf, std::io::Result<String>)>,
    ctx: &Context<'_>,
) -> (Schedules, Vec<Diagnostic>) {
    let mut problems = Vec::new();
    let mut schedules = Schedules::default();
    let mut order = 0;
    let mut plan_files: HashMap<String, PathBuf> = HashMap::new();
    for (path, text) in files {
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                problems.push(unreadable(&path, &e, ctx.lang));
                continue;
            }
        };
        let (schedule, mut diags) = parse(&path, &text, ctx, order);
        problems.append(&mut diags);
        if let Some(s) = schedule {
            if let Some(other) = plan_files.get(&s.plan.id) {
                problems.push(plan_id_clash(&path, &text, &s.plan.id, other, ctx.lang));
                continue;
            }
            plan_files.insert(s.plan.id.clone(), path.clone());
            order += s.slots.len();
            schedules.files.push(s);
        }
    }
    if schedules.files.is_empty() && problems.is_empty() {
        // An empty station is not broken (a fresh install, say): it airs nothing, loudly.
        let mut empty = Diagnostic::whole_file(
            dir,
            tr!(
                ctx.lang,
                "chưa có lịch phát nào (*.toml) trong thư mục này: đài sẽ không phát gì cho đến khi có",
                "no schedules (*.toml) in this folder: nothing will air until there are"
            ),
        );
        empty.severity = crate::diagnostic::Severity::Warning;
        problems.push(empty);
    }
    (schedules, problems)
}

/// What a [`Schedules::refresh`] changed.
#[derive(Debug, Default)]
pub struct Refresh {
    /// Files whose new content is now in force.
    pub loaded: Vec<PathBuf>,
    /// Files gone from the folder, no longer in force.
    pub removed: Vec<PathBuf>,
    /// Files whose new content failed validation; their previous version (if any) stays in
    /// force. With the content's hash, so a caller can report each bad version once.
    pub rejected: Vec<(PathBuf, String, Vec<Diagnostic>)>,
}

impl Schedules {
    /// Re-reads the schedules folder. A file whose content changed is validated again, as a
    /// whole: if it passes it replaces its previous version, if it fails the previous version
    /// stays in force. Slots keep the order of their files' names.
    pub fn refresh(&mut self, dir: &Path, ctx: &Context<'_>) -> Refresh {
        let mut out = Refresh::default();
        let Ok(files) = read_folder(dir) else {
            return out;
        };
        let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        for (path, text) in &files {
            let text = match text {
                Ok(t) => t,
                Err(e) => {
                    let d = unreadable(path, e, ctx.lang);
                    out.rejected.push((path.clone(), String::new(), vec![d]));
                    continue;
                }
            };
            let sha = crate::hex::hex(&Sha256::digest(text.as_bytes()));
            if self
                .files
                .iter()
                .any(|f| &f.file == path && f.sha256 == sha)
            {
                continue;
            }
            let (parsed, mut diags) = parse(path, text, ctx, 0);
            let parsed = parsed.filter(|s| {
                let clash = self
                    .files
                    .iter()
                    .find(|f| &f.file != path && f.plan.id == s.plan.id);
                if let Some(other) = clash {
                    diags.push(plan_id_clash(path, text, &s.plan.id, &other.file, ctx.lang));
                }
                clash.is_none()
            });
            match parsed {
                Some(s) => {
                    self.files.retain(|f| &f.file != path);
                    self.files.push(s);
                    out.loaded.push(path.clone());
                }
                None => out.rejected.push((path.clone(), sha, diags)),
            }
        }
        self.files.retain(|f| {
            let keep = paths.contains(&f.file);
            if !keep {
                out.removed.push(f.file.clone());
            }
            keep
        });
        if !out.loaded.is_empty() || !out.removed.is_empty() {
            self.put_in_order();
        }
        out
    }

    /// Files by name, and every slot numbered in that order: clashing slots of equal
    /// priority air in the order the operator reads them.
    pub fn put_in_order(&mut self) {
        self.files.sort_by(|a, b| a.file.cmp(&b.file));
        let mut order = 0;
        for f in &mut self.files {
            for slot in &mut f.slots {
                slot.order = order;
                order += 1;
            }
        }
    }
}
