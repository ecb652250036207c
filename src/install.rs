//! `loaxa install`: puts loaxa on a station PC in one step — the binary, the systemd unit, the
//! service user (sysusers.d), a production configuration in /etc/loaxa, and the station folder
//! under /var/lib/loaxa with the example plan ready to copy — then creates the user and enables
//! the service. `--root DIR` installs into DIR instead of `/` (for packaging and tests) and
//! touches nothing outside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::lang::Lang;
use crate::tr;

const UNIT: &str = include_str!("../packaging/loaxa.service");
const WEB_UNIT: &str = include_str!("../packaging/loaxa-web.service");
const SYNC_UNIT: &str = include_str!("../packaging/loaxa-sync.service");
const SYSUSERS: &str = include_str!("../packaging/loaxa.sysusers");
const EXAMPLE_SCHEDULE: &str = include_str!("../schedules/cchc-2025.toml");
const README: &str = include_str!("../README.md");
/// The guides the README links to, installed beside it (the operator's among them).
const DOCS: &[(&str, &str)] = &[
    ("commands.md", include_str!("../docs/commands.md")),
    ("console.md", include_str!("../docs/console.md")),
    ("design-notes.md", include_str!("../docs/design-notes.md")),
    (
        "huong-dan-van-hanh.md",
        include_str!("../docs/huong-dan-van-hanh.md"),
    ),
    (
        "journal-and-report.md",
        include_str!("../docs/journal-and-report.md"),
    ),
    ("measured.md", include_str!("../docs/measured.md")),
    ("province.md", include_str!("../docs/province.md")),
    (
        "relays-and-stream.md",
        include_str!("../docs/relays-and-stream.md"),
    ),
    ("service.md", include_str!("../docs/service.md")),
    ("station.md", include_str!("../docs/station.md")),
    ("testing.md", include_str!("../docs/testing.md")),
];

/// The example station's clips, so the example schedule can be tried right away.
const EXAMPLE_AUDIO: &[(&str, &[u8])] = &[
    ("nhac-hieu.ogg", include_bytes!("../audio/nhac-hieu.ogg")),
    ("gioi-thieu.mp3", include_bytes!("../audio/gioi-thieu.mp3")),
    ("ket-thuc.mp3", include_bytes!("../audio/ket-thuc.mp3")),
    (
        "cchc/01-vai-tro-cchc.mp3",
        include_bytes!("../audio/cchc/01-vai-tro-cchc.mp3"),
    ),
    (
        "cchc/02-công-khai-thủ-tục.flac",
        include_bytes!("../audio/cchc/02-công-khai-thủ-tục.flac"),
    ),
    (
        "mot-cua/01-bo-phan-mot-cua.ogg",
        include_bytes!("../audio/mot-cua/01-bo-phan-mot-cua.ogg"),
    ),
    (
        "mot-cua/02-dich-vu-cong-truc-tuyen.m4a",
        include_bytes!("../audio/mot-cua/02-dich-vu-cong-truc-tuyen.m4a"),
    ),
];

/// The configuration a station PC starts with: the real sound card, Vietnamese.
const PRODUCTION_CONFIG: &str = r#"# Cấu hình đài — loaxa station configuration (/etc/loaxa/loaxa.toml).
# Thư mục của đài: /var/lib/loaxa (bài phát trong audio/, lịch phát trong schedules/).
station = "Đài truyền thanh xã"
timezone = "Asia/Ho_Chi_Minh"
language = "vi"
output = "default"      # loa của máy; "wav:ĐƯỜNG_DẪN" để ghi ra tệp
volume = 1.0
grace_seconds = 60
"#;

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Step(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `content` unless the file exists (an operator's edits are never overwritten, except
/// for files loaxa owns outright: `replace`).
fn put(
    path: &Path,
    content: &[u8],
    replace: bool,
    done: &mut Vec<String>,
) -> Result<(), InstallError> {
    if path.exists() && !replace {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, content).map_err(io(path))?;
    done.push(path.display().to_string());
    Ok(())
}

/// Installs under `root`. With `root == "/"`, also creates the user and enables the service
/// (and starts it unless `no_start`). `packaged`: the Debian package already placed the
/// binary, the unit and the sysusers file, so only the rest is done — the same steps either
/// way. Returns what it did, one line each.
pub fn install(
    root: &Path,
    no_start: bool,
    packaged: bool,
    lang: Lang,
) -> Result<Vec<String>, InstallError> {
    let mut done = Vec::new();
    let at = |p: &str| root.join(p.trim_start_matches('/'));
    if !packaged {
        place_program_files(root, &mut done)?;
    }
    put(
        &at("/etc/loaxa/loaxa.toml"),
        PRODUCTION_CONFIG.as_bytes(),
        false,
        &mut done,
    )?;

    station_folder(root, &mut done)?;
    if root == Path::new("/") {
        activate(no_start, lang, &mut done)?;
    }
    Ok(done)
}

/// What the Debian package ships as files of its own: the binary, the unit, the sysusers file
/// and the documentation.
fn place_program_files(root: &Path, done: &mut Vec<String>) -> Result<(), InstallError> {
    let at = |p: &str| root.join(p.trim_start_matches('/'));
    let exe = std::env::current_exe().map_err(io(Path::new("/proc/self/exe")))?;
    let bin = at("/usr/bin/loaxa");
    if exe.canonicalize().ok() != bin.canonicalize().ok() {
        if let Some(dir) = bin.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        // Replaced whole (written beside, then renamed), so a running loaxa's binary is
        // replaced, not rewritten in place.
        let program = std::fs::read(&exe).map_err(io(&exe))?;
        crate::files::replace_with_mode(&bin, &program, 0o755).map_err(io(&bin))?;
        done.push(bin.display().to_string());
    }
    // The console is its own program, built beside this one.
    let web_exe = exe.with_file_name("loaxa-web");
    let web_bin = at("/usr/bin/loaxa-web");
    if web_exe.canonicalize().ok() != web_bin.canonicalize().ok() {
        let program = std::fs::read(&web_exe).map_err(io(&web_exe))?;
        crate::files::replace_with_mode(&web_bin, &program, 0o755).map_err(io(&web_bin))?;
        done.push(web_bin.display().to_string());
    }
    put(
        &at("/etc/systemd/system/loaxa-web.service"),
        WEB_UNIT.as_bytes(),
        true,
        done,
    )?;
    // Installed, not enabled: it has work only once [sync] is configured.
    put(
        &at("/etc/systemd/system/loaxa-sync.service"),
        SYNC_UNIT.as_bytes(),
        true,
        done,
    )?;
    put(
        &at("/etc/systemd/system/loaxa.service"),
        UNIT.as_bytes(),
        true,
        done,
    )?;
    put(
        &at("/usr/lib/sysusers.d/loaxa.conf"),
        SYSUSERS.as_bytes(),
        true,
        done,
    )?;
    put(
        &at("/usr/share/doc/loaxa/README.md"),
        README.as_bytes(),
        true,
        done,
    )?;
    for (name, text) in DOCS {
        put(
            &at(&format!("/usr/share/doc/loaxa/docs/{name}")),
            text.as_bytes(),
            true,
            done,
        )?;
    }
    Ok(())
}

/// The station folder with the example plan and its clips; an operator's files are kept.
fn station_folder(root: &Path, done: &mut Vec<String>) -> Result<(), InstallError> {
    let station = root.join("var/lib/loaxa");
    for dir in [
        "audio",
        "schedules",
        "journal",
        "audio/khan-cap",
        "audio/tinh",
    ] {
        let d = station.join(dir);
        std::fs::create_dir_all(&d).map_err(io(&d))?;
    }
    // The example plan is installed inactive: it airs only once the operator renames it to
    // .toml, so a fresh install never broadcasts on its own.
    put(
        &station.join("schedules/vi-du-cchc-2025.toml.example"),
        EXAMPLE_SCHEDULE.as_bytes(),
        false,
        done,
    )?;
    for (rel, bytes) in EXAMPLE_AUDIO {
        put(&station.join("audio").join(rel), bytes, false, done)?;
    }
    Ok(())
}

/// On the real system: the service user, ownership of the station folder, the unit enabled.
fn activate(no_start: bool, lang: Lang, done: &mut Vec<String>) -> Result<(), InstallError> {
    {
        let run = |cmd: &str, args: &[&str]| -> Result<(), InstallError> {
            let status = Command::new(cmd)
                .args(args)
                .status()
                .map_err(|e| InstallError::Step(format!("{cmd}: {e}")))?;
            if status.success() {
                Ok(())
            } else {
                Err(InstallError::Step(format!(
                    "{cmd} {} → {status}",
                    args.join(" ")
                )))
            }
        };
        run("systemd-sysusers", &["/usr/lib/sysusers.d/loaxa.conf"])?;
        run("chown", &["-R", "loaxa:loaxa", "/var/lib/loaxa"])?;
        done.push(tr!(
            lang,
            "đã tạo người dùng loaxa (nhóm audio)",
            "created the loaxa user (in group audio)"
        ));
        if Path::new("/run/systemd/system").is_dir() {
            run("systemctl", &["daemon-reload"])?;
            let mut enable = vec!["enable"];
            if !no_start {
                enable.push("--now");
            }
            enable.push("loaxa.service");
            enable.push("loaxa-web.service");
            run("systemctl", &enable)?;
            done.push(tr!(
                lang,
                "đã bật dịch vụ loaxa và bảng điều khiển loaxa-web (http://127.0.0.1:8080/; đặt mật khẩu: sudo loaxa web passwd)",
                "enabled the loaxa service and the loaxa-web console (http://127.0.0.1:8080/; set a password: sudo loaxa web passwd)"
            ));
        } else {
            done.push(tr!(
                lang,
                "máy này không chạy systemd: chưa bật dịch vụ",
                "systemd is not running here: the service was not enabled"
            ));
        }
    }
    Ok(())
}
