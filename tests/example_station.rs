//! The bundled example station is what an operator copies: it must validate, list what it
//! will air, and every clip in every format it ships (mp3, ogg/vorbis, flac, m4a/aac) must
//! decode and play out in full through loaxa's program source.

use std::path::{Path, PathBuf};

use loaxa::audio::{ItemAudio, PlannedItem, Program};
use loaxa::library;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
            // Copied long ago, as far as the settle check is concerned.
            let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
            std::fs::File::options()
                .write(true)
                .open(&target)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
    }
}

fn audio_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            audio_files(&p, out);
        } else if library::has_audio_extension(&p.to_string_lossy()) {
            out.push(p);
        }
    }
}

#[test]
fn the_example_station_validates_and_lists_its_sessions() {
    crate::support::shared();
    let dir = crate::support::scratch();
    for d in ["config", "schedules", "audio"] {
        copy_dir(&repo().join(d), &dir.path().join(d));
    }
    let out = crate::support::bin::command()
        .current_dir(dir.path())
        .args(["validate", "--lang", "en"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with("valid: 1 schedule file(s), 2 slot(s)")));
    assert!(!err.contains("warning"), "{err}");

    let out = crate::support::bin::command()
        .current_dir(dir.path())
        .args(["next", "--days", "7", "--lang", "en"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cchc-2025/sang") && text.contains("cchc-2025/chieu"),
        "{text}"
    );
    assert!(
        text.contains("nhac-hieu.ogg, gioi-thieu.mp3, cchc/"),
        "{text}"
    );
}

#[test]
fn every_bundled_format_decodes_and_plays_out_in_full() {
    crate::support::shared();
    let mut files = Vec::new();
    audio_files(&repo().join("audio"), &mut files);
    let mut formats: Vec<String> = files
        .iter()
        .map(|f| f.extension().unwrap().to_string_lossy().into_owned())
        .collect();
    formats.sort();
    formats.dedup();
    assert_eq!(formats, ["flac", "m4a", "mp3", "ogg"]);
    for path in files {
        let info = library::probe(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            info.duration_ms > 3000,
            "{} decodes to {} ms",
            path.display(),
            info.duration_ms
        );
        let clip = PlannedItem {
            rel: path.display().to_string(),
            duration_ms: info.duration_ms,
            gain: 1.0,
            channels: info.channels,
            sample_rate: info.sample_rate,
            audio: ItemAudio::File {
                path: path.clone(),
                sha256: info.sha256,
            },
        };
        let program = Program::new(vec![clip], 2, 48_000, 1.0);
        let state = program.state();
        let samples = program.count() as u64;
        let played_ms = samples * 1000 / (2 * 48_000);
        assert_eq!(state.played_ms(0), played_ms);
        assert!(
            played_ms.abs_diff(info.duration_ms) <= 30,
            "{}: played {played_ms} ms of {} ms",
            path.display(),
            info.duration_ms
        );
        assert!(state.is_finished());
    }
}
