//! Changing the library from the console: uploads (streamed to a hidden temporary file,
//! size-limited, decoded in full, then linked under a clean name — so the daemon's settle
//! and decode rules hold and nothing is left half-written), clip details (the sidecar),
//! retiring a clip, deleting one that never aired, listening to one, and emergencies handed
//! over as `play --now --priority emergency` hands them. Every change is journaled.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::input::{Form, JsonBody, Upload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::blocking;
use super::pages::{emergency_page, ClipPage};
use super::view::{render, Chrome};
use super::{App, Refusal, Visitor, UPLOAD_LIMIT};
use crate::lang::Lang;
use crate::mailbox::What;
use crate::tr;

/// A file the console could not write, said to the operator without the server's paths (the
/// full story goes to the console's log for whoever looks after the PC).
fn disk_error(lang: Lang, name: &str, path: &Path, e: &std::io::Error) -> String {
    tracing::error!("{}: {e}", path.display());
    let why = match e.kind() {
        std::io::ErrorKind::StorageFull => lang.pick("ổ đĩa đầy", "the disk is full"),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            lang.pick("không có quyền ghi", "no permission to write")
        }
        std::io::ErrorKind::InvalidFilename => lang.pick("tên tệp quá dài", "the name is too long"),
        _ => lang.pick("lỗi ổ đĩa", "a disk error"),
    };
    tr!(
        lang,
        "không lưu được {name} trên máy của đài: {why}",
        "{name} could not be saved on the station PC: {why}"
    )
}

/// Whether a folder (to write into) is inside the audio folder once links are followed: a
/// queue folder that is a link to elsewhere takes no uploads.
fn inside_audio(app: &App, dir: &Path) -> bool {
    match (
        std::fs::canonicalize(dir),
        std::fs::canonicalize(&app.config.audio_dir),
    ) {
        (Ok(d), Ok(root)) => d.starts_with(root),
        // Not there yet: it is created inside the (real) audio folder.
        (Err(_), Ok(_)) => !dir.is_symlink(),
        _ => false,
    }
}

/// `folder` under the audio folder, to write into, refused if it leads outside it.
fn audio_folder(app: &App, folder: &str, lang: Lang) -> Result<std::path::PathBuf, Refusal> {
    let dir = app.config.audio_dir.join(folder);
    if !inside_audio(app, &dir) {
        return Err(Refusal::Forbidden(tr!(
            lang,
            "{} dẫn ra ngoài thư mục audio/",
            "{} leads outside the audio folder",
            dir.display()
        )));
    }
    Ok(dir)
}

fn sha_of_file(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(crate::hex::hex(&h.finalize()))
}

/// What became of one uploaded file.
#[derive(Debug, Serialize)]
pub(super) struct Uploaded {
    pub name: String,
    pub ok: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Streams one multipart file field into the file `part`, synced; refuses it (and leaves
/// nothing) past `limit` bytes, empty, or if the stream breaks off. Returns its size.
pub(crate) async fn stream_to(
    field: &mut axum::extract::multipart::Field<'_>,
    part: &Path,
    limit: u64,
    name: &str,
    lang: Lang,
) -> Result<u64, String> {
    let mut file = match tokio::fs::File::create(part).await {
        Ok(f) => f,
        Err(e) => return Err(disk_error(lang, name, part, &e)),
    };
    let mut size: u64 = 0;
    let outcome: Result<(), String> = loop {
        match field.chunk().await {
            Ok(Some(bytes)) => {
                size += bytes.len() as u64;
                if size > limit {
                    break Err(tr!(
                        lang,
                        "{name} lớn hơn giới hạn {} MB",
                        "{name} is larger than the {} MB limit",
                        limit >> 20
                    ));
                }
                if let Err(e) = file.write_all(&bytes).await {
                    break Err(disk_error(lang, name, part, &e));
                }
            }
            Ok(None) => break Ok(()),
            Err(e) => {
                break Err(tr!(
                    lang,
                    "{name} tải lên không trọn vẹn ({e}): không lưu gì",
                    "{name} did not arrive whole ({e}): nothing kept"
                ))
            }
        }
    };
    let flushed = match outcome {
        Ok(()) => file
            .sync_all()
            .await
            .map_err(|e| disk_error(lang, name, part, &e)),
        Err(e) => Err(e),
    };
    drop(file);
    let checked = flushed.and_then(|()| {
        if size == 0 {
            Err(lang.pick("tệp rỗng", "the file is empty").to_string())
        } else {
            Ok(size)
        }
    });
    if checked.is_err() {
        let _ = tokio::fs::remove_file(part).await;
    }
    checked
}

/// Streams one multipart file field into a hidden temporary file in `dir`, refusing it past
/// the size limit or if the stream breaks off; then decodes it in full and puts it in place.
async fn receive(
    app: &Arc<App>,
    v: &Visitor,
    field: &mut axum::extract::multipart::Field<'_>,
    dir: &Path,
    raw_name: &str,
    what: What,
    details: Option<&str>,
) -> Uploaded {
    let lang = v.lang;
    let fail = |name: &str, message: String| Uploaded {
        name: name.to_string(),
        ok: false,
        message,
        sha256: None,
    };
    let name = match crate::library::clean_name(raw_name, lang) {
        Ok(n) => n,
        Err(e) => {
            // The rest of the field is read and dropped, so the next one can be.
            while let Ok(Some(_)) = field.chunk().await {}
            return fail(raw_name, e);
        }
    };
    if let Err(e) = tokio::fs::create_dir_all(dir).await {
        return fail(&name, disk_error(lang, &name, dir, &e));
    }
    let part = dir.join(format!(".{name}.{}.part", &crate::net::token()[..12]));
    let size = match stream_to(field, &part, UPLOAD_LIMIT, &name, lang).await {
        Ok(size) => size,
        Err(e) => return fail(&name, e),
    };
    let a = app.clone();
    let (d, n, p) = (dir.to_path_buf(), name.clone(), part.clone());
    let details = details.map(str::to_string);
    let placed = tokio::task::spawn_blocking(move || {
        let probes = crate::library::ProbeCache::default();
        crate::library::put_in_place(&p, &d, &n, details.as_deref(), &probes)
    })
    .await;
    let (target, info) = match placed {
        Ok(Ok(x)) => x,
        Ok(Err(crate::library::PlaceError::Clip(e))) => {
            return fail(&name, format!("{name}: {}", e.reason(lang)));
        }
        Ok(Err(crate::library::PlaceError::Io { path, source })) => {
            return fail(&name, disk_error(lang, &name, &path, &source));
        }
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return fail(&name, e.to_string());
        }
    };
    let rel = target
        .strip_prefix(&a.config.audio_dir)
        .unwrap_or(&target)
        .to_string_lossy()
        .into_owned();
    let mut action = v.action(what);
    action.file = Some(rel.clone());
    action.sha256 = Some(info.sha256.clone());
    action.detail = Some(format!("{size} bytes"));
    if let Err(Refusal::Failed(e)) = a.record(action) {
        // Unjournaled, it must not stay.
        let _ = std::fs::remove_file(&target);
        return fail(&name, e);
    }
    Uploaded {
        message: tr!(
            lang,
            "đã nhận {rel} ({:.1} giây)",
            "{rel} received ({:.1} s)",
            info.duration_ms as f64 / 1000.0
        ),
        name: rel,
        ok: true,
        sha256: Some(info.sha256),
    }
}

/// Refuses, before reading any of it, a request whose declared length is past the limit.
fn declared_too_large(headers: &HeaderMap, lang: Lang) -> Option<Refusal> {
    let declared: u64 = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    (declared > UPLOAD_LIMIT + (1 << 20)).then(|| {
        Refusal::TooLarge(
            lang.pick(
                "tệp tải lên lớn hơn giới hạn 500 MB",
                "the upload is larger than the 500 MB limit",
            )
            .into(),
        )
    })
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// Uploads into a queue folder: the page's form (several files) or its script (one file per
/// request, for a progress bar each). The CSRF token comes in a header, or as the form's
/// first field, before any file is read.
pub(super) async fn upload(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    headers: HeaderMap,
    Upload(mut form): Upload,
) -> Response {
    let lang = v.lang;
    if let Some(r) = declared_too_large(&headers, lang) {
        return r.into_response();
    }
    let mut folder: Option<String> = None;
    let mut results = Vec::new();
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                results.push(Uploaded {
                    name: String::new(),
                    ok: false,
                    message: tr!(
                        lang,
                        "yêu cầu tải lên không đọc được ({e}): không lưu gì thêm",
                        "the upload could not be read ({e}): nothing more kept"
                    ),
                    sha256: None,
                });
                break;
            }
        };
        match field.name().unwrap_or("") {
            "folder" => folder = Some(field.text().await.unwrap_or_default()),
            "file" => {
                let raw = field.file_name().unwrap_or("").to_string();
                if raw.is_empty() {
                    continue;
                }
                let allowed = blocking(&app, super::upload_folders).await;
                let dir = match (&folder, allowed) {
                    (Some(f), Ok(allowed))
                        if allowed.contains(f)
                            && inside_audio(&app, &app.config.audio_dir.join(f)) =>
                    {
                        app.config.audio_dir.join(f)
                    }
                    (_, Err(r)) => return r.into_response(),
                    _ => {
                        return Refusal::Invalid(tr!(
                            lang,
                            "hãy chọn một hàng bài có trong lịch phát: {:?}",
                            "pick a queue the schedules name: {:?}",
                            folder.unwrap_or_default()
                        ))
                        .into_response()
                    }
                };
                results.push(receive(&app, &v, &mut field, &dir, &raw, What::Upload, None).await);
            }
            _ => while let Ok(Some(_)) = field.chunk().await {},
        }
    }
    let status = if results.iter().all(|r| r.ok) && !results.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    if wants_json(&headers) {
        return (status, Json(results)).into_response();
    }
    let text = results
        .iter()
        .map(|r| r.message.clone())
        .collect::<Vec<_>>()
        .join("\n");
    let mut r = super::view::message_page(if text.is_empty() {
        lang.pick("không có tệp nào", "no file")
    } else {
        &text
    })
    .into_response();
    *r.status_mut() = status;
    r
}

#[derive(Deserialize)]
pub(super) struct RelForm {
    rel: String,
}

/// Whether the journal has ever aired this file (by path or by content).
fn ever_aired(app: &App, rel: &str, path: &Path) -> Result<bool, Refusal> {
    let Some(journal) = app.journal()? else {
        return Ok(false);
    };
    let folder = rel.rsplit_once('/').map_or("", |(f, _)| f);
    let counts = journal
        .aired_counts(folder)
        .map_err(|e| Refusal::Failed(e.to_string()))?;
    if counts.get(rel).is_some_and(|n| *n > 0) {
        return Ok(true);
    }
    let sha = sha_of_file(path).unwrap_or_default();
    journal
        .knows_clip(&sha)
        .map_err(|e| Refusal::Failed(e.to_string()))
}

/// Retires a clip: into its folder's `da-phat/` with its sidecar, as the daemon retires a
/// spent one. The journal keeps every record of it.
pub(super) async fn retire(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<RelForm>,
) -> Response {
    let done = blocking(&app, move |a| -> Result<String, Refusal> {
        let lang = v.lang;
        let path = super::confined(a, &f.rel, lang)?;
        let parent = path.parent().unwrap_or(&a.config.audio_dir);
        if parent
            .file_name()
            .is_some_and(|n| n == crate::catalog::RETIRED_DIR)
        {
            return Err(Refusal::Invalid(
                lang.pick("bài này đã nghỉ", "this clip is already retired")
                    .into(),
            ));
        }
        let to_dir = parent.join(crate::catalog::RETIRED_DIR);
        let to = to_dir.join(path.file_name().unwrap_or_default());
        let mut action = v.action(What::Retire);
        action.file = Some(f.rel.clone());
        action.sha256 = sha_of_file(&path);
        a.record(action)?;
        std::fs::create_dir_all(&to_dir)
            .and_then(|_| std::fs::rename(&path, &to))
            .map_err(|e| Refusal::Failed(format!("{}: {e}", to.display())))?;
        let side = crate::sidecar::sidecar_path(&path);
        if side.is_file() {
            let _ = std::fs::rename(&side, to_dir.join(side.file_name().unwrap_or_default()));
        }
        Ok(tr!(lang, "đã cho nghỉ {}", "{} retired", f.rel))
    })
    .await;
    finish(done)
}

#[derive(Deserialize)]
pub(super) struct OrderForm {
    order: String,
}

/// The operator's order for a province's ưu tiên bulletin that falls due with a commune
/// priority item: handed to the daemon as a journaled action, which it follows from then on.
pub(super) async fn clash_order(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<OrderForm>,
) -> Response {
    let done = blocking(&app, move |a| -> Result<String, Refusal> {
        let lang = v.lang;
        let order = crate::journal::ClashOrder::from_code(&f.order).ok_or_else(|| {
            Refusal::Invalid(
                lang.pick("thứ tự không hợp lệ", "not an order loaxa knows")
                    .into(),
            )
        })?;
        let mut action = v.action(What::BulletinOrder);
        action.detail = Some(order.code().to_string());
        a.record(action)?;
        Ok(tr!(
            lang,
            "đã lưu: khi bản tin ưu tiên của tỉnh trùng giờ với mục ưu tiên của xã, {}",
            "saved: when a province priority bulletin clashes with a commune priority item, {}",
            order.label(lang)
        ))
    })
    .await;
    finish(done)
}

/// Deletes a clip that never aired (an upload by mistake). One that aired is evidence: it can
/// only be retired.
pub(super) async fn delete(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<RelForm>,
) -> Response {
    let done = blocking(&app, move |a| -> Result<String, Refusal> {
        let lang = v.lang;
        let path = super::confined(a, &f.rel, lang)?;
        if ever_aired(a, &f.rel, &path)? {
            return Err(Refusal::Forbidden(tr!(
                lang,
                "{} đã từng phát: đó là bằng chứng, không xóa được; chỉ có thể cho nghỉ",
                "{} has aired: it is evidence and cannot be deleted, only retired",
                f.rel
            )));
        }
        let mut action = v.action(What::Delete);
        action.file = Some(f.rel.clone());
        action.sha256 = sha_of_file(&path);
        a.record(action)?;
        std::fs::remove_file(&path)
            .map_err(|e| Refusal::Failed(format!("{}: {e}", path.display())))?;
        let _ = std::fs::remove_file(crate::sidecar::sidecar_path(&path));
        Ok(tr!(lang, "đã xóa {}", "{} deleted", f.rel))
    })
    .await;
    finish(done)
}

fn finish(done: Result<String, Refusal>) -> Response {
    match done {
        Ok(said) => super::after_change("/library", &said),
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct SidecarForm {
    rel: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    times: String,
    #[serde(default)]
    priority: String,
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A sidecar's text keys, those given, as TOML lines.
fn details_text(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k} = {}\n", toml_string(v.trim())))
        .collect()
}

/// Saves a clip's details as its sidecar, checked by the same parser the daemon uses.
pub(super) async fn save_sidecar(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<SidecarForm>,
) -> Response {
    let done = blocking(&app, move |a| -> Result<Response, Refusal> {
        let lang = v.lang;
        let path = super::confined(a, &f.rel, lang)?;
        let mut text = details_text(&[
            ("title", &f.title),
            ("topic", &f.topic),
            ("priority", &f.priority),
        ]);
        for (k, val) in [("from", &f.from), ("until", &f.until)] {
            if !val.trim().is_empty() {
                // A date is a TOML date, bare; anything else is quoted and the parser says why.
                let v = val.trim();
                if v.parse::<chrono::NaiveDate>().is_ok() {
                    text.push_str(&format!("{k} = {v}\n"));
                } else {
                    text.push_str(&format!("{k} = {}\n", toml_string(v)));
                }
            }
        }
        if !f.times.trim().is_empty() {
            match f.times.trim().parse::<i64>() {
                Ok(n) => text.push_str(&format!("times = {n}\n")),
                Err(_) => text.push_str(&format!("times = {}\n", toml_string(f.times.trim()))),
            }
        }
        let side = crate::sidecar::sidecar_path(&path);
        if let Err(errors) = crate::sidecar::parse_clip(&side, &text, lang) {
            let mut r = render(&ClipPage {
                c: Chrome::new(a, &v, "library"),
                rel: f.rel.clone(),
                errors: errors.iter().map(|d| d.render(lang)).collect(),
                title: f.title,
                topic: f.topic,
                from: f.from,
                until: f.until,
                times: f.times,
                priority: f.priority,
                priorities: super::view::Choice::clip_priorities(lang),
                topics: a.declared().topics,
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(r);
        }
        let mut action = v.action(What::SidecarSaved);
        action.file = Some(f.rel.clone());
        action.sha256 = Some(crate::hex::hex(&Sha256::digest(text.as_bytes())));
        action.detail = Some(text.clone());
        a.record(action)?;
        crate::files::replace(&side, text.as_bytes())
            .map_err(|e| Refusal::Failed(format!("{}: {e}", side.display())))?;
        Ok(super::after_change(
            "/library",
            &tr!(lang, "đã lưu thông tin bài {}", "{}: details saved", f.rel),
        ))
    })
    .await;
    done.unwrap_or_else(IntoResponse::into_response)
}

/// Plays a clip in the browser.
pub(super) async fn listen(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    UrlPath(rel): UrlPath<String>,
) -> Response {
    let path = match super::confined(&app, &rel, v.lang) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let kind = match path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .as_deref()
    {
        Some("mp3") => "audio/mpeg",
        Some("wav") => "audio/wav",
        Some("ogg" | "oga" | "opus") => "audio/ogg",
        Some("flac") => "audio/flac",
        Some("m4a" | "mp4" | "aac") => "audio/mp4",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, kind)], bytes).into_response(),
        Err(e) => Refusal::Failed(format!("{}: {e}", path.display())).into_response(),
    }
}

/// Hands an existing clip to the emergency folder (copied, decoded, then renamed in), and
/// journals who did it. Says whether it airs now (the daemon runs) and what it will do.
fn hand_emergency(app: &App, v: &Visitor, rel: &str) -> Result<(bool, String), Refusal> {
    let lang = v.lang;
    let source = super::confined(app, rel, lang)?;
    let dir = audio_folder(app, &app.config.emergency_dir, lang)?;
    let name = source
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let part = dir.join(format!(".{name}.{}.part", &crate::net::token()[..12]));
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::copy(&source, &part))
        .map_err(|e| Refusal::Failed(disk_error(lang, &name, &part, &e)))?;
    let probes = crate::library::ProbeCache::default();
    let (target, info) =
        crate::library::put_in_place(&part, &dir, &name, None, &probes).map_err(|e| match e {
            crate::library::PlaceError::Clip(c) => Refusal::Invalid(c.reason(lang)),
            crate::library::PlaceError::Io { path, source } => {
                Refusal::Failed(disk_error(lang, &name, &path, &source))
            }
        })?;
    let handed = target
        .strip_prefix(&app.config.audio_dir)
        .unwrap_or(&target)
        .to_string_lossy()
        .into_owned();
    let mut action = v.action(What::Emergency);
    action.file = Some(handed.clone());
    action.sha256 = Some(info.sha256);
    action.detail = Some(rel.to_string());
    if let Err(r) = app.record(action) {
        let _ = std::fs::remove_file(&target);
        return Err(r);
    }
    Ok(super::pages::handed_words(app, lang, &handed))
}

/// The Emergency page's form: a clip picked, or a file uploaded, and the confirmation.
pub(super) async fn emergency(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    headers: HeaderMap,
    Upload(mut form): Upload,
) -> Response {
    let lang = v.lang;
    if let Some(r) = declared_too_large(&headers, lang) {
        return r.into_response();
    }
    let mut confirmed = false;
    let mut rel = String::new();
    let mut uploaded: Option<Uploaded> = None;
    while let Ok(Some(mut field)) = form.next_field().await {
        match field.name().unwrap_or("") {
            "confirm" => confirmed = field.text().await.unwrap_or_default() == "yes",
            "rel" => rel = field.text().await.unwrap_or_default(),
            "file" => {
                let raw = field.file_name().unwrap_or("").to_string();
                if raw.is_empty() || !confirmed {
                    while let Ok(Some(_)) = field.chunk().await {}
                    continue;
                }
                let dir = app.config.audio_dir.join(&app.config.emergency_dir);
                uploaded =
                    Some(receive(&app, &v, &mut field, &dir, &raw, What::Emergency, None).await);
            }
            _ => while let Ok(Some(_)) = field.chunk().await {},
        }
    }
    if !confirmed {
        return Refusal::Invalid(
            lang.pick(
                "chưa xác nhận: đánh dấu ô xác nhận rồi bấm lại",
                "not confirmed: tick the confirmation and press again",
            )
            .into(),
        )
        .into_response();
    }
    let a = app.clone();
    let vv = v.clone();
    let done = tokio::task::spawn_blocking(move || match uploaded {
        Some(u) if u.ok => Ok(super::pages::handed_words(&a, vv.lang, &u.name)),
        Some(u) => Err(Refusal::Invalid(u.message)),
        None if !rel.is_empty() => hand_emergency(&a, &vv, &rel),
        None => Err(Refusal::Invalid(
            vv.lang
                .pick("hãy chọn hoặc tải lên một bài", "pick or upload a clip")
                .into(),
        )),
    })
    .await;
    match done {
        Ok(Ok((_, message))) => {
            let a = app.clone();
            tokio::task::spawn_blocking(move || emergency_page(&a, &v, Some(message)))
                .await
                .unwrap_or_else(|e| Refusal::Failed(e.to_string()).into_response())
        }
        Ok(Err(r)) => r.into_response(),
        Err(e) => Refusal::Failed(e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct EmergencyRequest {
    rel: String,
    #[serde(default)]
    confirm: bool,
}

/// `POST /api/emergency` `{"rel": "...", "confirm": true}` with the `X-CSRF-Token` header.
pub(super) async fn emergency_api(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    JsonBody(req): JsonBody<EmergencyRequest>,
) -> Response {
    if !req.confirm {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"ok": false, "message": v.lang.pick(
                "chưa xác nhận: gửi \"confirm\": true",
                "not confirmed: send \"confirm\": true"
            )})),
        )
            .into_response();
    }
    // Handed over either way; with loaxa stopped it is accepted, not aired: 202 and the
    // state that says so, never "airs now".
    match blocking(&app, move |a| hand_emergency(a, &v, &req.rel)).await {
        Ok((true, m)) => Json(serde_json::json!({
            "ok": true,
            "state": "airing",
            "daemon_running": true,
            "message": m
        }))
        .into_response(),
        Ok((false, m)) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "ok": true,
                "state": "waiting_for_loaxa",
                "daemon_running": false,
                "max_age_seconds": app.config.emergency_max_age.as_secs(),
                "message": m
            })),
        )
            .into_response(),
        Err(r) => r.into_response(),
    }
}

/// Where the Record page's take goes: a queue a schedule takes from, the play folder (aired
/// as soon as nothing is on air, at a priority), or the emergency folder (cutting what is on
/// air, confirmed). Returns the folder, what the journal says, and the priority a take
/// handed over to air now is given.
fn destination(
    app: &App,
    to: &str,
    confirmed: bool,
    lang: Lang,
) -> Result<(std::path::PathBuf, What, Option<&'static str>), Refusal> {
    let (folder, what, priority) = match to {
        "emergency" if !confirmed => {
            return Err(Refusal::Invalid(
                lang.pick(
                    "chưa xác nhận phát khẩn cấp: đánh dấu ô xác nhận rồi lưu lại",
                    "the emergency is not confirmed: tick the confirmation and save again",
                )
                .into(),
            ))
        }
        "emergency" => (app.config.emergency_dir.clone(), What::Emergency, None),
        "now:normal" => (
            crate::catalog::PLAY_DIR.to_string(),
            What::Recorded,
            Some("normal"),
        ),
        "now:priority" => (
            crate::catalog::PLAY_DIR.to_string(),
            What::Recorded,
            Some("priority"),
        ),
        queue if super::upload_folders(app)?.iter().any(|f| f == queue) => {
            (queue.to_string(), What::Recorded, None)
        }
        other => {
            return Err(Refusal::Invalid(tr!(
                lang,
                "hãy chọn một hàng bài có trong lịch phát, hoặc phát ngay: {:?}",
                "pick a queue the schedules name, or air it now: {:?}",
                other
            )))
        }
    };
    Ok((audio_folder(app, &folder, lang)?, what, priority))
}

/// The operator's name for a take, with the extension of what the browser recorded (an
/// audio extension the operator typed is dropped: the recording's own format decides).
fn take_name(name: &str, recorded: &str) -> String {
    let name = name.trim();
    let typed = Path::new(name);
    let stem = match typed.extension().and_then(|e| e.to_str()) {
        Some(e) if crate::library::AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()) => {
            typed.file_stem().and_then(|s| s.to_str()).unwrap_or(name)
        }
        _ => name,
    };
    let ext = Path::new(recorded)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    format!("{stem}.{ext}")
}

/// The Record page's save: the take recorded in the browser (or a file a phone's recorder
/// made), named by the operator, with a title, into a queue or handed over to air now. The
/// fields come in this order, the file last, so where it goes is known before a byte of it
/// is kept: `name`, `title`, `to` (a queue, `now:normal`, `now:priority` or `emergency`),
/// `confirm`, `file`. Journaled as any clip kept: who, its SHA-256.
pub(super) async fn record(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    headers: HeaderMap,
    Upload(mut form): Upload,
) -> Response {
    let lang = v.lang;
    if let Some(r) = declared_too_large(&headers, lang) {
        return r.into_response();
    }
    let (mut name, mut title, mut to, mut confirmed) =
        (String::new(), String::new(), String::new(), false);
    let mut kept: Option<(Uploaded, What)> = None;
    while let Ok(Some(mut field)) = form.next_field().await {
        match field.name().unwrap_or("") {
            "name" => name = field.text().await.unwrap_or_default(),
            "title" => title = field.text().await.unwrap_or_default(),
            "to" => to = field.text().await.unwrap_or_default(),
            "confirm" => confirmed = field.text().await.unwrap_or_default() == "yes",
            "file" if kept.is_none() => {
                let recorded = field.file_name().unwrap_or("").to_string();
                if name.trim().is_empty() {
                    name = Path::new(&recorded)
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                }
                if recorded.is_empty() || name.trim().is_empty() {
                    while let Ok(Some(_)) = field.chunk().await {}
                    continue;
                }
                let (t, c) = (to.clone(), confirmed);
                let (dir, what, priority) =
                    match blocking(&app, move |a| destination(a, &t, c, lang)).await {
                        Ok(d) => d,
                        Err(r) => return r.into_response(),
                    };
                let details =
                    details_text(&[("title", &title), ("priority", priority.unwrap_or(""))]);
                let side = crate::sidecar::sidecar_path(&dir.join("take.toml"));
                if let Err(errors) = crate::sidecar::parse_clip(&side, &details, lang) {
                    let said: Vec<String> = errors.iter().map(|d| d.message.clone()).collect();
                    return Refusal::Invalid(said.join("; ")).into_response();
                }
                let details = (!details.is_empty()).then_some(details);
                let wanted = take_name(&name, &recorded);
                let done = receive(
                    &app,
                    &v,
                    &mut field,
                    &dir,
                    &wanted,
                    what,
                    details.as_deref(),
                )
                .await;
                kept = Some((done, what));
            }
            _ => while let Ok(Some(_)) = field.chunk().await {},
        }
    }
    let Some((done, what)) = kept else {
        return Refusal::Invalid(
            lang.pick(
                "chưa có bản ghi: bấm Ghi âm, hoặc chọn một tệp",
                "nothing recorded: press Record, or choose a file",
            )
            .into(),
        )
        .into_response();
    };
    let mut done = done;
    if done.ok {
        let a = app.clone();
        let rel = done.name.clone();
        let handed =
            tokio::task::spawn_blocking(move || match (what, a.live_status(chrono::Utc::now())) {
                (What::Emergency, _) => Some(super::pages::handed_words(&a, lang, &rel).1),
                (_, None) if rel.starts_with(crate::catalog::PLAY_DIR) => Some(tr!(
                    lang,
                    "loaxa không chạy: {rel} sẽ phát khi loaxa chạy lại",
                    "loaxa is not running: {rel} airs once loaxa runs again"
                )),
                (_, Some(_)) if rel.starts_with(crate::catalog::PLAY_DIR) => Some(tr!(
                    lang,
                    "đã giao {rel} cho loaxa: phát ngay khi không có gì đang phát",
                    "{rel} handed to loaxa: it airs as soon as nothing is on air"
                )),
                _ => None,
            })
            .await
            .ok()
            .flatten();
        if let Some(h) = handed {
            done.message = format!("{}. {h}", done.message);
        }
    }
    let status = if done.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    if wants_json(&headers) {
        return (status, Json(done)).into_response();
    }
    if done.ok {
        return super::after_change("/record", &done.message);
    }
    let mut r = super::view::message_page(&done.message).into_response();
    *r.status_mut() = status;
    r
}

/// The level a live broadcast is asked at (`normal`, `priority`, `emergency`): the Record
/// page's Live buttons and its live socket.
pub(super) fn live_priority(text: &str, lang: Lang) -> Result<crate::journal::Priority, Refusal> {
    crate::journal::Priority::parse(text).ok_or_else(|| {
        Refusal::Invalid(
            lang.pick("mức ưu tiên không hợp lệ", "not a priority")
                .into(),
        )
    })
}

#[derive(Deserialize)]
pub(super) struct LiveForm {
    action: String,
    #[serde(default)]
    priority: String,
}

/// The Record page's Live buttons: the station's microphone (`live_input`) on air now at the
/// priority picked, or the live broadcast ended. Handed to the daemon, which airs it and
/// journals who started and who ended it.
pub(super) async fn live(
    State(app): State<Arc<App>>,
    Extension(v): Extension<Visitor>,
    Form(f): Form<LiveForm>,
) -> Response {
    let lang = v.lang;
    let done = blocking(&app, move |a| {
        let Some(input) = a.config.live_input.clone() else {
            return Err(Refusal::Invalid(crate::config::no_live_input(lang).into()));
        };
        if a.live_status(chrono::Utc::now()).is_none() {
            return Err(Refusal::Invalid(
                crate::config::live_needs_daemon(lang).into(),
            ));
        }
        let (what, said) = match f.action.as_str() {
            "start" => {
                let p = live_priority(&f.priority, lang)?;
                let mut action = v.action(What::LiveStart);
                action.detail = Some(p.code().to_string());
                (
                    action,
                    tr!(
                        lang,
                        "đang phát trực tiếp từ {input} ({})",
                        "going live from {input} ({})",
                        p.label(lang)
                    ),
                )
            }
            "stop" => (
                v.action(What::LiveStop),
                lang.pick("đã dừng phát trực tiếp", "the live broadcast ended")
                    .into(),
            ),
            _ => {
                return Err(Refusal::Invalid(
                    lang.pick("thao tác không hợp lệ", "not an action").into(),
                ))
            }
        };
        a.record(what)?;
        Ok(super::after_change("/record", &said))
    })
    .await;
    done.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_are_cleaned_and_confined() {
        let ok = |s: &str| crate::library::clean_name(s, Lang::Vi).unwrap();
        assert_eq!(ok("C:\\Users\\x\\Bản tin.mp3"), "Bản tin.mp3");
        assert_eq!(ok("../../etc/bao-lu.wav"), "bao-lu.wav");
        assert_eq!(ok("a;rm -rf $HOME.mp3"), "a-rm -rf -HOME.mp3");
        // Decomposed (macOS) spelling becomes the composed one the catalog compares.
        assert_eq!(ok("Tho\u{302}ng ba\u{301}o.mp3"), "Thông báo.mp3");
        // A hidden name is made visible rather than left for the catalog to skip.
        assert_eq!(ok(".an.mp3"), "an.mp3");
        // Eighty three-byte letters: cut by bytes, on a letter's edge, the extension kept.
        let long = ok(&format!("{}.mp3", "ữ".repeat(80)));
        assert!(
            long.len() <= crate::library::NAME_BYTES && long.ends_with("ữ.mp3"),
            "{long}"
        );
        for bad in ["", "..", "x.exe", "x.mp3.part", "/", "..\\..\\"] {
            assert!(
                crate::library::clean_name(bad, Lang::Vi).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_take_is_named_by_the_operator_with_the_extension_of_what_was_recorded() {
        assert_eq!(take_name("Họp dân", "take.webm"), "Họp dân.webm");
        assert_eq!(take_name(" hop-dan.mp3 ", "take.ogg"), "hop-dan.ogg");
        // Not an audio extension: part of the name.
        assert_eq!(take_name("thong-bao.v2", "take.wav"), "thong-bao.v2.wav");
        // Cleaned afterwards as any upload's name.
        let cleaned = crate::library::clean_name(&take_name("../x/bao", "take.m4a"), Lang::Vi);
        assert_eq!(cleaned.as_deref(), Ok("bao.m4a"));
    }
}
