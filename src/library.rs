//! The audio library under `audio/`: what a clip path refers to, what a queue folder holds
//! and which of its files are ready to air, and each clip's measured facts (content hash,
//! exact decoded duration). File names are compared after Unicode NFC normalisation, since
//! Vietnamese names copied from Windows or macOS arrive in different forms.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rodio::Source;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::hex::hex;
use crate::lang::Lang;
use crate::tr;

/// File extensions loaxa airs.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "mp3", "wav", "ogg", "oga", "opus", "webm", "flac", "m4a", "aac", "mp4",
];

/// How long a file's mtime must have stood still before it counts as fully copied.
pub const SETTLE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClipError {
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Undecodable { path: PathBuf, reason: String },
}

impl ClipError {
    /// The operator-facing reason, without the path.
    pub fn reason(&self, lang: Lang) -> String {
        match self {
            ClipError::Unreadable { reason, .. } => {
                tr!(
                    lang,
                    "không đọc được tệp: {reason}",
                    "cannot read the file: {reason}"
                )
            }
            ClipError::Undecodable { reason, .. } => {
                tr!(
                    lang,
                    "tệp bị hỏng hoặc không phải âm thanh: {}",
                    "damaged or not audio: {}",
                    decoder_words(reason, lang)
                )
            }
        }
    }
}

/// A decoder's reason in the operator's language. The reason is kept as the decoder gave it
/// (the journal and the clip cache store it so); the phrases an operator meets are said in
/// Vietnamese, anything else is marked as the technical detail it is.
fn decoder_words(reason: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return reason.to_string();
    }
    if reason.starts_with("The format of the data has not been recognized") {
        return "không nhận ra định dạng âm thanh".into();
    }
    if reason == "no audio samples" {
        return "không có mẫu âm thanh nào".into();
    }
    // "decodes to 1.2 s of the 60.0 s its header declares"
    if let Some(rest) = reason.strip_prefix("decodes to ") {
        let nums: Vec<&str> = rest
            .split(' ')
            .filter(|w| w.parse::<f64>().is_ok())
            .collect();
        if let [got, declared] = nums[..] {
            return format!("chỉ giải mã được {got} giây trong {declared} giây mà tệp khai báo");
        }
    }
    format!("lỗi giải mã (chi tiết kỹ thuật: {reason})")
}

/// What loaxa measured of a clip file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipInfo {
    pub sha256: String,
    /// Exact length from decoding to the end (container headers, VBR MP3's above all, lie).
    pub duration_ms: u64,
    pub channels: u16,
    pub sample_rate: u32,
    /// EBU R128 integrated loudness, LUFS, to 0.1; `None` for silence.
    pub loudness_lufs: Option<Tenths>,
    /// Sample peak, dBFS, to 0.1.
    pub peak_dbfs: Tenths,
    /// Silence (below −50 dBFS) before the first and after the last audible sample.
    pub lead_silence_ms: u64,
    pub trail_silence_ms: u64,
}

/// A level in tenths of a unit (dB, LU), kept integral so clip facts compare exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tenths(pub i32);

impl Tenths {
    pub fn of(v: f64) -> Tenths {
        Tenths((v * 10.0).round() as i32)
    }

    pub fn get(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

/// The gain (dB) that brings a clip to `target` LUFS without lifting its peak above −1 dBFS
/// and without more than +12 dB of boost (quiet recordings are mostly noise).
pub fn normalising_gain_db(info: &ClipInfo, target: f64) -> f64 {
    let Some(lufs) = info.loudness_lufs else {
        return 0.0;
    };
    let wanted = (target - lufs.get()).clamp(-20.0, 12.0);
    let headroom = -1.0 - info.peak_dbfs.get();
    (wanted.min(headroom) * 10.0).round() / 10.0
}

/// NFC-normalises a relative clip path so that names in different Unicode forms compare equal.
pub fn normalize(rel: &str) -> String {
    rel.replace('\\', "/").nfc().collect()
}

/// Why a clip path written in a schedule is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProblem {
    Absolute,
    Escapes,
    Empty,
}

/// Checks that `rel` stays inside the audio folder and returns its normalised form.
pub fn check_relative(rel: &str) -> Result<String, PathProblem> {
    let norm = normalize(rel);
    if norm.trim().is_empty() {
        return Err(PathProblem::Empty);
    }
    let p = Path::new(&norm);
    if p.is_absolute() {
        return Err(PathProblem::Absolute);
    }
    let mut depth: i32 = 0;
    for c in p.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(PathProblem::Escapes);
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(PathProblem::Absolute),
        }
    }
    Ok(norm)
}

/// Finds the file a normalised relative path names, whatever Unicode form its name is
/// stored in on disk.
pub fn resolve(audio_dir: &Path, rel: &str) -> Option<PathBuf> {
    let direct = audio_dir.join(rel);
    if direct.exists() {
        return Some(direct);
    }
    let mut here = audio_dir.to_path_buf();
    for part in Path::new(rel).components() {
        let Component::Normal(name) = part else {
            here.push(part.as_os_str());
            continue;
        };
        let want: String = name.to_string_lossy().nfc().collect();
        let found = std::fs::read_dir(&here).ok()?.flatten().find(|e| {
            let n: String = e.file_name().to_string_lossy().nfc().collect();
            n == want
        })?;
        here = found.path();
    }
    Some(here)
}

/// Why a file under the audio folder is not one loaxa airs, whatever it holds, in the
/// operator's language; `None` for a file it may air. A link that leads outside the audio
/// folder is refused (what airs is what the station holds, and the service may read only
/// there), as is a name that is not UTF-8 (a USB stick mounted with the wrong character set):
/// journaled under a garbled name it would be evidence nobody can match to a file.
pub fn refusal(audio_dir: &Path, path: &Path, lang: Lang) -> Option<String> {
    if let Some(name) = path.file_name() {
        if name.to_str().is_none() {
            let shown = name.to_string_lossy();
            return Some(crate::tr!(
                lang,
                "tên tệp «{shown}» không phải UTF-8 (thường do USB cũ ghi sai bảng mã): hãy đổi tên tệp, chỉ dùng chữ không dấu hoặc gõ lại tên có dấu, rồi loaxa sẽ phát được",
                "the file name “{shown}” is not UTF-8 (often an old USB stick with the wrong character set): rename the file, retyping its name, and loaxa will air it"
            ));
        }
    }
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return None;
    }
    let target = std::fs::canonicalize(path);
    let home = std::fs::canonicalize(audio_dir);
    match (target, home) {
        (Ok(t), Ok(h)) if t.starts_with(&h) => None,
        (Ok(t), _) => Some(crate::tr!(
            lang,
            "liên kết dẫn ra ngoài thư mục audio/ (tới {}): loaxa chỉ phát tệp nằm trong audio/ — hãy chép tệp vào đây thay cho liên kết",
            "a link leading outside the audio/ folder (to {}): loaxa airs only files inside audio/ — copy the file here instead of linking it",
            t.display()
        )),
        (Err(e), _) => Some(crate::tr!(
            lang,
            "liên kết hỏng ({e}): tệp nó trỏ tới không còn",
            "a broken link ({e}): what it points to is gone"
        )),
    }
}

/// Why a file handed to the daemon's folders (by `play`, or uploaded from the console) was not
/// put in place. Nothing is left behind in either case.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// It does not decode to the end.
    #[error("{0}")]
    Clip(ClipError),
}

/// Puts a fully written file (`part`, under a temporary name in `dir`) in place as `name`,
/// the way a careful operator would: decoded in full first (a damaged file is refused now,
/// with whoever handed it at the keyboard), dated as settled, then renamed to its real name —
/// a file renamed in is whole, and the daemon airs it without a settle wait. A name already taken gets `-2`, `-3`…: a
/// second file of the same name is a second file, never a replacement of the first. Returns
/// where it went and what was measured.
///
/// With `details`, the clip's sidecar (its title, priority…) goes in under the same name
/// first, so the daemon never sees the clip without them.
pub fn put_in_place(
    part: &Path,
    dir: &Path,
    name: &str,
    details: Option<&str>,
    probes: &ProbeCache,
) -> Result<(PathBuf, ClipInfo), PlaceError> {
    let fail = |path: &Path, source| {
        let _ = std::fs::remove_file(part);
        PlaceError::Io {
            path: path.to_path_buf(),
            source,
        }
    };
    let settled = SystemTime::now() - SETTLE - Duration::from_secs(1);
    if let Err(e) = File::options()
        .write(true)
        .open(part)
        .and_then(|f| f.set_modified(settled))
    {
        return Err(fail(part, e));
    }
    let info = match probe(part) {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(part);
            return Err(PlaceError::Clip(e));
        }
    };
    let stem_ext = Path::new(name);
    let stem = stem_ext.file_stem().unwrap_or_default().to_string_lossy();
    for n in 1.. {
        let candidate = match (n, stem_ext.extension()) {
            (1, _) => dir.join(name),
            (_, Some(ext)) => dir.join(format!("{stem}-{n}.{}", ext.to_string_lossy())),
            (_, None) => dir.join(format!("{stem}-{n}")),
        };
        match place(part, &candidate, details) {
            Ok(()) => {
                if let Ok(meta) = std::fs::metadata(&candidate) {
                    probes.remember(&candidate, stamp_of(&meta), info.clone());
                }
                return Ok((candidate, info));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fail(&candidate, e)),
        }
    }
    unreachable!("the names to try are endless")
}

/// Renames `part` in as `clip`, its sidecar first when there are `details`: `AlreadyExists`
/// if either name is taken (nothing of this attempt is left then).
fn place(part: &Path, clip: &Path, details: Option<&str>) -> std::io::Result<()> {
    let Some(text) = details else {
        return crate::files::rename_new(part, clip);
    };
    if clip.exists() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    let side = crate::sidecar::sidecar_path(clip);
    crate::files::create_new(&side, text.as_bytes())?;
    let placed = crate::files::rename_new(part, clip);
    if placed.is_err() {
        let _ = std::fs::remove_file(&side);
    }
    placed
}

/// The longest name an upload keeps, in bytes.
pub const NAME_BYTES: usize = 180;

/// A file name someone else chose (an upload's, a province bulletin's) made safe: the last path component only (browsers on Windows
/// send `C:\…\x.mp3`), Unicode NFC (as the catalog compares names), no control characters
/// or characters that mean something to a shell or a file system, not hidden, an audio
/// extension, at most [`NAME_BYTES`] bytes.
pub fn clean_name(raw: &str, lang: Lang) -> Result<String, String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let nfc: String = last.nfc().collect();
    let cleaned: String = nfc
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ' | '(' | ')') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    // File names are limited in bytes (255), and a Vietnamese letter takes two or three:
    // cut by bytes, on a letter's edge, leaving room for `-2` and the temporary name's parts.
    let cleaned: String = if cleaned.len() > NAME_BYTES {
        let ext = Path::new(&cleaned)
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut stem = String::new();
        for c in cleaned.chars() {
            if stem.len() + c.len_utf8() + ext.len() + 1 > NAME_BYTES {
                break;
            }
            stem.push(c);
        }
        format!("{}.{ext}", stem.trim_end())
    } else {
        cleaned
    };
    if cleaned.is_empty() || crate::library::is_temporary_name(&cleaned) {
        return Err(tr!(
            lang,
            "tên tệp không dùng được: {raw:?}",
            "unusable file name: {raw:?}"
        ));
    }
    if !crate::library::has_audio_extension(&cleaned) {
        return Err(tr!(
            lang,
            "{cleaned} không phải tệp âm thanh loaxa phát được (mp3, wav, ogg, flac, m4a)",
            "{cleaned} is not an audio file loaxa airs (mp3, wav, ogg, flac, m4a)"
        ));
    }
    Ok(cleaned)
}

/// Whether a file name is a temporary or hidden name that copy tools use while writing.
pub fn is_temporary_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || name.starts_with('~')
        || lower.ends_with(".part")
        || lower.ends_with(".tmp")
        || lower.ends_with(".crdownload")
        || lower.ends_with(".partial")
        || lower.ends_with('~')
}

pub fn has_audio_extension(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Reads and decodes a clip to the end: its hash and exact duration.
pub fn probe(path: &Path) -> Result<ClipInfo, ClipError> {
    let unreadable = |e: std::io::Error| ClipError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sha256 = hex(&hasher.finalize());

    let decoder =
        crate::decoder::ClipDecoder::open(path).map_err(|reason| ClipError::Undecodable {
            path: path.to_path_buf(),
            reason,
        })?;
    let channels = decoder.channels().get();
    let sample_rate = decoder.sample_rate().get();
    let declared = decoder.total_duration();
    // One pass: count the samples (the exact length), and measure loudness and peak.
    let mut meter = ebur128::EbuR128::new(u32::from(channels), sample_rate, ebur128::Mode::I)
        .map_err(|e| ClipError::Undecodable {
            path: path.to_path_buf(),
            reason: format!("loudness meter: {e:?}"),
        })?;
    let mut samples: u64 = 0;
    let mut peak: f32 = 0.0;
    let (mut first_loud, mut last_loud): (Option<u64>, u64) = (None, 0);
    let mut chunk: Vec<f32> = Vec::with_capacity(8192);
    let chunk_len = 4096 * channels as usize;
    for s in decoder {
        samples += 1;
        let a = s.abs();
        peak = peak.max(a);
        if a > SILENCE_AMPLITUDE {
            first_loud.get_or_insert(samples - 1);
            last_loud = samples;
        }
        chunk.push(s);
        if chunk.len() == chunk_len {
            let _ = meter.add_frames_f32(&chunk);
            chunk.clear();
        }
    }
    let whole = chunk.len() - chunk.len() % channels as usize;
    let _ = meter.add_frames_f32(&chunk[..whole]);
    let loudness_lufs = meter
        .loudness_global()
        .ok()
        .filter(|l| l.is_finite() && *l > -70.0)
        .map(Tenths::of);
    let peak_dbfs = Tenths::of(20.0 * f64::from(peak.max(1e-10)).log10());
    let frames = samples / u64::from(channels);
    if frames == 0 {
        return Err(ClipError::Undecodable {
            path: path.to_path_buf(),
            reason: "no audio samples".into(),
        });
    }
    let duration_ms = frames * 1000 / u64::from(sample_rate);
    let ms_of = |samples: u64| samples / u64::from(channels) * 1000 / u64::from(sample_rate);
    let (lead_silence_ms, trail_silence_ms) = match first_loud {
        Some(first) => (ms_of(first), ms_of(samples - last_loud)),
        None => (duration_ms, 0),
    };
    if let Some(declared) = declared {
        // A file cut short (a half-finished copy, a damaged download) decodes to less
        // than its header promises; airing it would end mid-sentence.
        let declared_ms = declared.as_millis() as u64;
        if declared_ms > 2000 && duration_ms * 10 < declared_ms * 9 {
            return Err(ClipError::Undecodable {
                path: path.to_path_buf(),
                reason: format!(
                    "decodes to {:.1} s of the {:.1} s its header declares",
                    duration_ms as f64 / 1000.0,
                    declared_ms as f64 / 1000.0
                ),
            });
        }
    }
    Ok(ClipInfo {
        sha256,
        duration_ms,
        channels,
        sample_rate,
        loudness_lufs,
        peak_dbfs,
        lead_silence_ms,
        trail_silence_ms,
    })
}

/// −50 dBFS: quieter than this counts as silence (the same line the air meter draws).
const SILENCE_AMPLITUDE: f32 = 0.003_162;

/// A file version: size and modification time. A copy in progress changes one or both.
pub type Stamp = (u64, Option<SystemTime>);

pub fn stamp_of(meta: &std::fs::Metadata) -> Stamp {
    (meta.len(), meta.modified().ok())
}

/// When a file was handed over: its inode's change time, which a rename into the folder and
/// a copy's last write both set, and which — unlike the mtime that `cp -p`, rsync and
/// Explorer carry over from the source — nobody can set to the past.
pub fn handed_at(meta: &std::fs::Metadata) -> SystemTime {
    use std::os::unix::fs::MetadataExt;
    let nanos = u32::try_from(meta.ctime_nsec()).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::new(u64::try_from(meta.ctime()).unwrap_or(0), nanos)
}

fn mtime_ns(t: Option<SystemTime>) -> Option<i64> {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
}

/// Remembers probe results by (path, size, mtime) so an unchanged file is decoded once: in
/// memory, and, once [`ProbeCache::attach`]ed to the journal database, across restarts
/// (facts by content hash, so a renamed or copied clip is not measured again either).
#[derive(Default)]
pub struct ProbeCache {
    entries: Mutex<HashMap<PathBuf, CachedProbe>>,
    store: Mutex<Option<rusqlite::Connection>>,
    /// How many files were decoded (not found in either cache): for tests and benchmarks.
    decoded: std::sync::atomic::AtomicUsize,
}

/// A probe result and the file version it was taken of.
type CachedProbe = (Stamp, Result<ClipInfo, ClipError>);

impl ProbeCache {
    /// Keeps results in the journal database at `db` (its schema holds the cache tables).
    /// The cache is an optimisation: if the database cannot be opened, loaxa decodes again.
    pub fn attach(&self, db: &Path) {
        let conn = rusqlite::Connection::open_with_flags(
            db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|c| {
            c.busy_timeout(Duration::from_secs(2))?;
            // The journal's writer must never wait on the cache: short, unsynced writes.
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c.query_row("SELECT count(*) FROM clip_facts", [], |_| Ok(()))?;
            // A read-only cache is no cache, and kept open it would hold the journal
            // read-only for this whole process.
            if c.is_readonly(rusqlite::MAIN_DB)? {
                return Err(rusqlite::Error::InvalidQuery);
            }
            Ok(c)
        });
        match conn {
            Ok(c) => {
                if let Ok(mut s) = self.store.lock() {
                    *s = Some(c);
                }
            }
            Err(e) => tracing::debug!("clip cache unavailable in {}: {e}", db.display()),
        }
    }

    /// How many files this cache had to decode.
    pub fn decoded(&self) -> usize {
        self.decoded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The cached result for this file version, without decoding anything.
    pub fn cached(&self, path: &Path, stamp: Stamp) -> Option<Result<ClipInfo, ClipError>> {
        if let Ok(map) = self.entries.lock() {
            if let Some((s, result)) = map.get(path) {
                if *s == stamp {
                    return Some(result.clone());
                }
            }
        }
        let result = self.stored(path, stamp)?;
        if let Ok(mut map) = self.entries.lock() {
            map.insert(path.to_path_buf(), (stamp, result.clone()));
        }
        Some(result)
    }

    pub fn probe(&self, path: &Path) -> Result<ClipInfo, ClipError> {
        let meta = std::fs::metadata(path).map_err(|e| ClipError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let stamp = stamp_of(&meta);
        if let Some(result) = self.cached(path, stamp) {
            return result;
        }
        self.decoded
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = probe(path);
        // A file that changed while it was read is measured again next time.
        let after = std::fs::metadata(path).map(|m| stamp_of(&m)).ok();
        if after == Some(stamp) {
            if let Ok(mut map) = self.entries.lock() {
                map.insert(path.to_path_buf(), (stamp, result.clone()));
            }
            self.store_result(path, stamp, &result);
        }
        result
    }

    /// Records what was measured of a file about to appear at `path` with this stamp (a copy
    /// finished under a temporary name, then renamed), so the daemon need not wait for it
    /// to settle or decode it again.
    pub fn remember(&self, path: &Path, stamp: Stamp, info: ClipInfo) {
        let result = Ok(info);
        self.store_result(path, stamp, &result);
        if let Ok(mut map) = self.entries.lock() {
            map.insert(path.to_path_buf(), (stamp, result));
        }
    }

    fn stored(&self, path: &Path, stamp: Stamp) -> Option<Result<ClipInfo, ClipError>> {
        let guard = self.store.lock().ok()?;
        let conn = guard.as_ref()?;
        let key = path.to_string_lossy();
        let row: (Option<String>, Option<String>) = conn
            .query_row(
                "SELECT sha256, error FROM clip_files WHERE path = ?1 AND size = ?2 AND mtime_ns IS ?3",
                rusqlite::params![key, stamp.0 as i64, mtime_ns(stamp.1)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok()?;
        match row {
            (_, Some(reason)) => Some(Err(ClipError::Undecodable {
                path: path.to_path_buf(),
                reason,
            })),
            (Some(sha256), None) => conn
                .query_row(
                    "SELECT duration_ms, channels, sample_rate, loudness_tenths, peak_tenths,
                            lead_silence_ms, trail_silence_ms
                     FROM clip_facts WHERE sha256 = ?1",
                    [&sha256],
                    |r| {
                        Ok(ClipInfo {
                            sha256: sha256.clone(),
                            duration_ms: r.get::<_, i64>(0)? as u64,
                            channels: r.get(1)?,
                            sample_rate: r.get(2)?,
                            loudness_lufs: r.get::<_, Option<i32>>(3)?.map(Tenths),
                            peak_dbfs: Tenths(r.get(4)?),
                            lead_silence_ms: r.get::<_, i64>(5)? as u64,
                            trail_silence_ms: r.get::<_, i64>(6)? as u64,
                        })
                    },
                )
                .ok()
                .map(Ok),
            (None, None) => None,
        }
    }

    fn store_result(&self, path: &Path, stamp: Stamp, result: &Result<ClipInfo, ClipError>) {
        let Ok(guard) = self.store.lock() else {
            return;
        };
        let Some(conn) = guard.as_ref() else {
            return;
        };
        let key = path.to_string_lossy();
        let written = match result {
            Ok(info) => conn
                .execute(
                    "INSERT OR REPLACE INTO clip_facts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    rusqlite::params![
                        info.sha256,
                        info.duration_ms as i64,
                        info.channels,
                        info.sample_rate,
                        info.loudness_lufs.map(|t| t.0),
                        info.peak_dbfs.0,
                        info.lead_silence_ms as i64,
                        info.trail_silence_ms as i64
                    ],
                )
                .and_then(|_| {
                    conn.execute(
                        "INSERT OR REPLACE INTO clip_files VALUES (?1, ?2, ?3, ?4, NULL)",
                        rusqlite::params![key, stamp.0 as i64, mtime_ns(stamp.1), info.sha256],
                    )
                }),
            // Unreadable is about the moment (permissions, a vanished file), not the content.
            Err(ClipError::Unreadable { .. }) => return,
            Err(ClipError::Undecodable { reason, .. }) => conn.execute(
                "INSERT OR REPLACE INTO clip_files VALUES (?1, ?2, ?3, NULL, ?4)",
                rusqlite::params![key, stamp.0 as i64, mtime_ns(stamp.1), reason],
            ),
        };
        if let Err(e) = written {
            // A full or read-only disk: the cache is only an optimisation.
            tracing::debug!("clip cache: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_may_not_escape_the_audio_folder() {
        assert_eq!(check_relative("a/b.mp3").unwrap(), "a/b.mp3");
        assert_eq!(check_relative("a/../b.mp3").unwrap(), "a/../b.mp3");
        assert_eq!(check_relative("../x.mp3"), Err(PathProblem::Escapes));
        assert_eq!(check_relative("a/../../x.mp3"), Err(PathProblem::Escapes));
        assert_eq!(check_relative("/etc/passwd"), Err(PathProblem::Absolute));
        assert_eq!(check_relative(" "), Err(PathProblem::Empty));
    }

    #[test]
    fn nfd_and_nfc_names_compare_equal() {
        let nfd = "tho\u{302}ng-ba\u{301}o.mp3"; // "thông-báo" decomposed, as macOS writes it
        assert_eq!(normalize(nfd), "thông-báo.mp3");
    }

    #[test]
    fn temporary_names_are_not_aired() {
        for n in [
            ".hidden.mp3",
            "~lock.mp3",
            "a.mp3.part",
            "b.TMP",
            "c.crdownload",
        ] {
            assert!(is_temporary_name(n), "{n}");
        }
        assert!(!is_temporary_name("thong-bao.mp3"));
    }

    #[test]
    fn resolve_finds_a_decomposed_name_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tho\u{302}ng.mp3"), b"x").unwrap();
        let found = resolve(dir.path(), "thông.mp3").unwrap();
        assert!(found.exists());
    }

    #[test]
    fn normalising_gain_reaches_the_target_within_the_headroom_and_boost_caps() {
        let info = |lufs: f64, peak: f64| ClipInfo {
            sha256: String::new(),
            duration_ms: 1000,
            channels: 1,
            sample_rate: 8000,
            loudness_lufs: Some(Tenths::of(lufs)),
            peak_dbfs: Tenths::of(peak),
            lead_silence_ms: 0,
            trail_silence_ms: 0,
        };
        assert_eq!(normalising_gain_db(&info(-26.0, -12.0), -16.0), 10.0);
        assert_eq!(
            normalising_gain_db(&info(-26.0, -3.0), -16.0),
            2.0,
            "peak stays under -1 dBFS"
        );
        assert_eq!(
            normalising_gain_db(&info(-40.0, -30.0), -16.0),
            12.0,
            "boost capped"
        );
        assert_eq!(normalising_gain_db(&info(-8.0, -0.5), -16.0), -8.0);
        let silent = ClipInfo {
            loudness_lufs: None,
            ..info(0.0, -100.0)
        };
        assert_eq!(normalising_gain_db(&silent, -16.0), 0.0);
    }

    /// Regression: a province bulletin's sidecar was written under the name asked for before
    /// the clip found a free one, replacing the sidecar of another clip of that name.
    #[test]
    fn a_clip_put_in_place_with_its_details_takes_a_free_name_for_both() {
        let dir = tempfile::tempdir().unwrap();
        let wav = |path: &Path| {
            let samples = 800u32;
            let mut b = Vec::new();
            b.extend_from_slice(b"RIFF");
            b.extend_from_slice(&(36 + samples * 2).to_le_bytes());
            b.extend_from_slice(b"WAVEfmt ");
            b.extend_from_slice(&16u32.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&8000u32.to_le_bytes());
            b.extend_from_slice(&16000u32.to_le_bytes());
            b.extend_from_slice(&2u16.to_le_bytes());
            b.extend_from_slice(&16u16.to_le_bytes());
            b.extend_from_slice(b"data");
            b.extend_from_slice(&(samples * 2).to_le_bytes());
            b.resize(b.len() + samples as usize * 2, 0);
            std::fs::write(path, b).unwrap();
        };
        let probes = ProbeCache::default();
        std::fs::write(dir.path().join("tin.toml"), "title = \"cũ\"\n").unwrap();
        wav(&dir.path().join("tin.wav"));
        let part = dir.path().join(".tin.wav.part");
        wav(&part);
        let (placed, _) = put_in_place(
            &part,
            dir.path(),
            "tin.wav",
            Some("title = \"mới\"\n"),
            &probes,
        )
        .unwrap();
        assert_eq!(placed, dir.path().join("tin-2.wav"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("tin-2.toml")).unwrap(),
            "title = \"mới\"\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("tin.toml")).unwrap(),
            "title = \"cũ\"\n",
            "the other clip's details are untouched"
        );
    }
}
