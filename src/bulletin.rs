//! A bulletin sent down from above, and how a station takes it in. Today bulletins come
//! from the province's database (`loaxa central bulletin`, fetched by `loaxa sync`); the
//! national information-source system publishes no wire format, so its adapter, when there
//! is one, gives a [`Bulletin`] and its clip's bytes and everything here stays as it is.
//!
//! A bulletin's clip is checked against its SHA-256 and decoded in full, then handed in
//! through the door its level opens — the operator's own doors, never the daemon's files:
//! khẩn cấp into the emergency folder (aired at once, cutting what is on air), ưu tiên into
//! the hand-over folder at priority (aired before the commune's own waiting items), thông
//! thường into the province's queue folder `tinh/` (aired when a commune's schedule takes
//! from it). Its sidecar carries its title, its id, its end to the second and its repeats;
//! nothing airs it after its end. What was done with each bulletin is kept in
//! `bulletins.json` beside the journal, and said to the daemon to journal (receipt, refusal,
//! expiry, withdrawal) through the mailbox, with the bulletin's id and SHA-256.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::{PLAY_DIR, PROVINCE_DIR};
use crate::journal::Priority;
use crate::lang::Lang;
use crate::library::ProbeCache;
use crate::mailbox::{Action, What};
use crate::tr;

/// The largest clip a station takes, and the longest.
pub const MAX_BYTES: i64 = 100 << 20;
pub const MAX_MINUTES: u64 = 30;

/// A bulletin as its sender describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bulletin {
    pub id: i64,
    pub title: String,
    pub level: Priority,
    pub sha256: String,
    /// The clip's name as the sender gave it.
    pub file_name: String,
    pub size: i64,
    pub from: DateTime<Utc>,
    /// Its end: nothing airs it from then on.
    pub until: DateTime<Utc>,
    /// Times of day it airs at (HH:MM), if the sender set them.
    pub at: Vec<String>,
    pub repeat: u32,
    pub withdrawn: Option<Withdrawal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// What the station did with a bulletin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Checked and about to appear in its folder: written before it appears, so a sync
    /// killed in between never takes it in twice (see [`Next::Resume`]).
    Taking,
    Handed,
    Refused,
    Expired,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    pub state: State,
    /// Where it was handed in, under the audio folder.
    pub file: Option<String>,
    pub at: DateTime<Utc>,
}

/// Every bulletin the station has dealt with, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub taken: BTreeMap<i64, Taken>,
}

/// Where the ledger lives: beside the journal.
pub fn path_for(journal: &Path) -> PathBuf {
    journal.with_file_name("bulletins.json")
}

impl Ledger {
    pub fn read(path: &Path) -> Ledger {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::files::replace(path, &text)
    }
}

/// How many bulletins the station received, aired (in full, at least once), refused, saw
/// expire and saw withdrawn: `aired` says whether a handed-in file aired in full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub received: usize,
    pub aired: usize,
    pub refused: usize,
    pub expired: usize,
    pub withdrawn: usize,
}

impl Ledger {
    pub fn counts(&self, aired: impl Fn(&str) -> bool) -> Counts {
        let mut c = Counts::default();
        for t in self.taken.values() {
            match t.state {
                State::Refused => c.refused += 1,
                State::Expired => c.expired += 1,
                State::Withdrawn => c.withdrawn += 1,
                State::Handed | State::Taking => {}
            }
            if let Some(file) = &t.file {
                c.received += 1;
                if aired(file) {
                    c.aired += 1;
                }
            }
        }
        c
    }
}

/// What to do with a bulletin now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Nothing,
    /// Valid and new: fetch its clip and take it in.
    Fetch,
    /// Its end passed before it arrived: journal it expired, never air it.
    Expire,
    /// Withdrawn: remove it if it waits, cut it if it is on air.
    Withdraw,
    /// Its taking-in was cut short (the sync stopped): handed if its file is there (or
    /// already aired and moved on), else taken in again without a second receipt.
    Resume,
}

/// The one rule for what a bulletin needs, given what was done with it already.
pub fn next(b: &Bulletin, taken: Option<&Taken>, now: DateTime<Utc>) -> Next {
    match (taken.map(|t| t.state), &b.withdrawn) {
        (None | Some(State::Handed | State::Taking), Some(_)) => Next::Withdraw,
        (Some(State::Taking), None) => Next::Resume,
        (None, None) if now >= b.until => Next::Expire,
        (None, None) if now < b.from => Next::Nothing,
        (None, None) => Next::Fetch,
        _ => Next::Nothing,
    }
}

/// The station's doors, as bulletins use them.
pub struct Doors<'a> {
    pub audio_dir: &'a Path,
    pub emergency_dir: &'a str,
}

impl Doors<'_> {
    /// The folder a level's bulletins are handed into, relative to the audio folder.
    pub fn folder(&self, level: Priority) -> &str {
        match level {
            Priority::Emergency => self.emergency_dir,
            Priority::Priority => PLAY_DIR,
            Priority::Normal => PROVINCE_DIR,
        }
    }
}

/// Takes a bulletin's clip in: its SHA-256 checked, decoded in full, its length within the
/// guard, its sidecar written, then renamed into its level's folder. `announce` is told the
/// file (relative to the audio folder) once every check passed, just before it appears, so
/// its receipt is journaled before anything can air it. Returns the file, or why the station
/// refuses it, worded.
pub fn take_in(
    doors: &Doors<'_>,
    b: &Bulletin,
    bytes: &[u8],
    probes: &ProbeCache,
    lang: Lang,
    announce: impl FnOnce(&str),
) -> Result<String, String> {
    if bytes.len() as i64 > MAX_BYTES {
        return Err(tr!(
            lang,
            "tệp lớn hơn {} MB",
            "the file is over {} MB",
            MAX_BYTES >> 20
        ));
    }
    let sha = crate::hex::hex(&<sha2::Sha256 as sha2::Digest>::digest(bytes));
    if sha != b.sha256 {
        return Err(tr!(
            lang,
            "nội dung không khớp mã SHA-256 của bản tin ({}…, nhận được {}…)",
            "its content does not match the bulletin's SHA-256 ({}…, got {}…)",
            &b.sha256[..b.sha256.len().min(12)],
            &sha[..12]
        ));
    }
    let folder = doors.folder(b.level);
    let dir = doors.audio_dir.join(folder);
    let io = |e: std::io::Error| tr!(lang, "lỗi ghi đĩa: {e}", "disk error: {e}");
    std::fs::create_dir_all(&dir).map_err(io)?;
    // A name whose clip and sidecar are both free: the sidecar is written before the clip
    // appears, and must never be another clip's.
    let name = free_name(&dir, &file_name(b, lang)?);
    let part = dir.join(format!(".{name}.part"));
    std::fs::write(&part, bytes).map_err(io)?;
    let info = match crate::library::probe(&part) {
        Ok(info) => info,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e.reason(lang));
        }
    };
    if info.duration_ms > MAX_MINUTES * 60_000 {
        let _ = std::fs::remove_file(&part);
        return Err(tr!(
            lang,
            "dài {} phút, quá {MAX_MINUTES} phút cho phép",
            "{} minutes long, over the {MAX_MINUTES} allowed",
            info.duration_ms / 60_000
        ));
    }
    // The sidecar goes in before the clip (`put_in_place`): the daemon never sees the clip
    // without its end.
    announce(&format!("{folder}/{name}"));
    let text = sidecar_text(b);
    let placed = crate::library::put_in_place(&part, &dir, &name, Some(&text), probes);
    let (path, _) = placed.map_err(|e| match e {
        crate::library::PlaceError::Clip(c) => c.reason(lang),
        crate::library::PlaceError::Io { source, .. } => io(source),
    })?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(name);
    Ok(format!("{folder}/{file_name}"))
}

/// The name a bulletin's clip is handed in under: `tinh-ID-` and its cleaned name.
pub fn file_name(b: &Bulletin, lang: Lang) -> Result<String, String> {
    Ok(format!(
        "tinh-{}-{}",
        b.id,
        crate::library::clean_name(&b.file_name, lang)?
    ))
}

fn free_name(dir: &Path, name: &str) -> String {
    let p = Path::new(name);
    let stem = p.file_stem().unwrap_or_default().to_string_lossy();
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    (1..)
        .map(|n| {
            if n == 1 {
                name.to_string()
            } else {
                format!("{stem}-{n}.{ext}")
            }
        })
        .find(|c| {
            let clip = dir.join(c);
            !clip.exists() && !crate::sidecar::sidecar_path(&clip).exists()
        })
        .unwrap_or_else(|| name.to_string())
}

/// Whether a bulletin's clip is already in its folder, or aired or expired and moved on
/// from it: the file it was handed in as, if so.
pub fn already_in(doors: &Doors<'_>, b: &Bulletin, lang: Lang) -> Option<String> {
    let folder = doors.folder(b.level);
    let name = file_name(b, lang).ok()?;
    let stem = Path::new(&name).file_stem()?.to_string_lossy().into_owned();
    for sub in ["", crate::catalog::RETIRED_DIR, crate::catalog::EXPIRED_DIR] {
        let dir = doors.audio_dir.join(folder).join(sub);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&stem) && crate::library::has_audio_extension(&n) {
                return Some(format!("{folder}/{n}"));
            }
        }
    }
    None
}

/// A handed-in bulletin's sidecar: its title, id, end and repeats (its priority at ưu tiên).
fn sidecar_text(b: &Bulletin) -> String {
    let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut t = format!(
        "title = {}\nbulletin = {}\nuntil = {}\ntimes = {}\n",
        quoted(&b.title),
        b.id,
        b.until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        b.repeat.max(1)
    );
    if b.level == Priority::Priority {
        t += "priority = \"priority\"\n";
        if !b.at.is_empty() {
            let times: Vec<String> = b.at.iter().map(|a| quoted(a)).collect();
            t += &format!("at = [{}]\n", times.join(", "));
        }
    }
    t
}

/// Removes a handed-in bulletin that has not aired yet (and its sidecar); false if it is no
/// longer waiting (it aired, or is airing: the daemon cuts it).
pub fn remove_waiting(doors: &Doors<'_>, file: &str) -> bool {
    let path = doors.audio_dir.join(file);
    let removed = std::fs::remove_file(&path).is_ok();
    if removed {
        let _ = std::fs::remove_file(crate::sidecar::sidecar_path(&path));
    }
    removed
}

/// What the station did, for the daemon to journal (through the mailbox), with the
/// bulletin's id and SHA-256; `from` names the sender (the province's database).
pub fn action(
    b: &Bulletin,
    what: What,
    file: Option<String>,
    detail: String,
    from: &str,
) -> Action {
    Action {
        at: Utc::now(),
        user: "loaxa sync".into(),
        from: from.to_string(),
        what,
        file,
        sha256: Some(b.sha256.clone()),
        detail: Some(detail),
        bulletin: Some(b.id),
        feed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulletin(level: Priority) -> Bulletin {
        let now = Utc::now();
        Bulletin {
            id: 7,
            title: "Bão số 5 \"khẩn\"".into(),
            level,
            sha256: String::new(),
            file_name: "C:\\tin\\bão số 5.wav".into(),
            size: 0,
            from: now - chrono::Duration::minutes(1),
            until: now + chrono::Duration::minutes(30),
            at: vec![],
            repeat: 3,
            withdrawn: None,
        }
    }

    #[test]
    fn what_a_bulletin_needs_follows_its_window_and_what_was_done() {
        let now = Utc::now();
        let b = bulletin(Priority::Emergency);
        assert_eq!(next(&b, None, now), Next::Fetch);
        assert_eq!(
            next(&b, None, b.until),
            Next::Expire,
            "its end is not in it"
        );
        let later = Bulletin {
            from: now + chrono::Duration::minutes(5),
            ..b.clone()
        };
        assert_eq!(next(&later, None, now), Next::Nothing);
        let handed = Taken {
            state: State::Handed,
            file: Some("khan-cap/tinh-7-x.wav".into()),
            at: now,
        };
        assert_eq!(next(&b, Some(&handed), now), Next::Nothing);
        let withdrawn = Bulletin {
            withdrawn: Some(Withdrawal {
                at: now,
                reason: "báo nhầm".into(),
            }),
            ..b
        };
        assert_eq!(next(&withdrawn, Some(&handed), now), Next::Withdraw);
        assert_eq!(next(&withdrawn, None, now), Next::Withdraw);
        let done = Taken {
            state: State::Withdrawn,
            ..handed
        };
        assert_eq!(next(&withdrawn, Some(&done), now), Next::Nothing);
    }

    #[test]
    fn a_bulletin_is_taken_in_whole_through_its_level_s_door_with_its_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let doors = Doors {
            audio_dir: dir.path(),
            emergency_dir: "khan-cap",
        };
        let wav = dir.path().join("src.wav");
        crate::catalog::tests_support::wav(&wav);
        let bytes = std::fs::read(&wav).unwrap();
        let mut b = bulletin(Priority::Emergency);
        b.sha256 = crate::hex::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let probes = ProbeCache::default();
        let rel = take_in(&doors, &b, &bytes, &probes, Lang::En, |_| {}).unwrap();
        assert_eq!(rel, "khan-cap/tinh-7-bão số 5.wav");
        let side =
            std::fs::read_to_string(dir.path().join("khan-cap/tinh-7-bão số 5.toml")).unwrap();
        let meta = crate::sidecar::parse_clip(Path::new("x.toml"), &side, Lang::En).unwrap();
        assert_eq!(meta.title.as_deref(), Some("Bão số 5 \"khẩn\""));
        assert_eq!((meta.bulletin, meta.times), (Some(7), Some(3)));
        assert_eq!(meta.ends.map(|e| e.timestamp()), Some(b.until.timestamp()));
        // Each level its own door.
        for (level, folder) in [
            (Priority::Priority, "phat-ngay"),
            (Priority::Normal, "tinh"),
        ] {
            let rel = take_in(
                &doors,
                &bulletin_with(level, &b),
                &bytes,
                &probes,
                Lang::En,
                |_| {},
            )
            .unwrap();
            assert!(rel.starts_with(&format!("{folder}/")), "{rel}");
        }
        // Bytes that do not match, and bytes that are not audio: refused, nothing left.
        let wrong = take_in(&doors, &b, b"not the clip", &probes, Lang::En, |_| {}).unwrap_err();
        assert!(wrong.contains("SHA-256"), "{wrong}");
        let mut junk = b.clone();
        junk.sha256 = crate::hex::hex(&<sha2::Sha256 as sha2::Digest>::digest(b"RIFF junk"));
        assert!(take_in(&doors, &junk, b"RIFF junk", &probes, Lang::En, |_| {}).is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path().join("khan-cap"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
        // Withdrawn before it aired: removed with its sidecar.
        assert!(remove_waiting(&doors, &rel));
        assert!(!remove_waiting(&doors, &rel));
    }

    /// Regression (#24): a sync killed between a bulletin's file appearing and its ledger
    /// entry took it in a second time (and its first copy lost its sidecar). The ledger says
    /// `Taking` before the file appears; a sync that finds that resumes: handed if the file is
    /// there or has aired and moved on, and a second copy never overwrites a first's sidecar.
    #[test]
    fn a_take_in_cut_short_resumes_without_a_second_copy() {
        let dir = tempfile::tempdir().unwrap();
        let doors = Doors {
            audio_dir: dir.path(),
            emergency_dir: "khan-cap",
        };
        let b = bulletin(Priority::Emergency);
        let taking = Taken {
            state: State::Taking,
            file: Some("khan-cap/tinh-7-bão số 5.wav".into()),
            at: Utc::now(),
        };
        assert_eq!(next(&b, Some(&taking), Utc::now()), Next::Resume);
        assert_eq!(already_in(&doors, &b, Lang::En), None);
        let aired = dir.path().join("khan-cap/da-phat/tinh-7-bão số 5.wav");
        crate::catalog::tests_support::wav(&aired);
        assert_eq!(
            already_in(&doors, &b, Lang::En).as_deref(),
            Some("khan-cap/tinh-7-bão số 5.wav")
        );
        // A name taken by a clip or by a sidecar is passed over.
        let folder = dir.path().join("khan-cap");
        std::fs::write(folder.join("x.toml"), "").unwrap();
        assert_eq!(free_name(&folder, "x.wav"), "x-2.wav");
    }

    fn bulletin_with(level: Priority, b: &Bulletin) -> Bulletin {
        Bulletin { level, ..b.clone() }
    }
}
