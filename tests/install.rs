//! `loaxa install --root DIR`: the one-step install, into a folder standing in for a fresh
//! station PC's root. Everything lands where the unit and the configuration expect it, an
//! operator's configuration survives a reinstall, and the installed station validates.

use std::process::Command;

fn loaxa(args: &[&str]) -> std::process::Output {
    crate::support::bin::command().args(args).output().unwrap()
}

#[test]
fn install_lays_out_a_station_that_validates_and_keeps_the_operators_config() {
    crate::support::shared();
    let root = crate::support::scratch();
    let r = root.path();
    let out = loaxa(&["install", "--root", r.to_str().unwrap(), "--lang", "en"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for path in [
        "usr/bin/loaxa",
        "etc/systemd/system/loaxa.service",
        "usr/lib/sysusers.d/loaxa.conf",
        "etc/loaxa/loaxa.toml",
        "var/lib/loaxa/schedules/vi-du-cchc-2025.toml.example",
        "var/lib/loaxa/audio/nhac-hieu.ogg",
        "var/lib/loaxa/audio/cchc/02-công-khai-thủ-tục.flac",
        "var/lib/loaxa/audio/khan-cap",
        "usr/share/doc/loaxa/README.md",
    ] {
        assert!(r.join(path).exists(), "{path} missing");
    }
    let unit = std::fs::read_to_string(r.join("etc/systemd/system/loaxa.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/loaxa run --config /etc/loaxa/loaxa.toml"));
    let installed = Command::new(r.join("usr/bin/loaxa"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&installed.stdout).starts_with("loaxa "));

    // The operator edits the configuration; a reinstall leaves it alone.
    let config = r.join("etc/loaxa/loaxa.toml");
    std::fs::write(
        &config,
        "station = \"Đài xã Hoằng Hóa\"\noutput = \"null\"\n",
    )
    .unwrap();
    assert!(loaxa(&["install", "--root", r.to_str().unwrap()])
        .status
        .success());
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("Hoằng Hóa"));

    let station = r.join("var/lib/loaxa");
    let validate = || {
        crate::support::bin::command()
            .args([
                "validate",
                "--lang",
                "en",
                "--config",
                config.to_str().unwrap(),
            ])
            .env("LOAXA_STATION_DIR", &station)
            .output()
            .unwrap()
    };
    // Fresh: nothing airs until the operator turns the example on; that is said, not an error.
    let fresh = validate();
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    assert!(String::from_utf8_lossy(&fresh.stderr).contains("nothing will air until there are"));
    // Copied clips are settled once their copy is old enough; the example then validates.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for entry in [
        "audio/cchc/01-vai-tro-cchc.mp3",
        "audio/cchc/02-công-khai-thủ-tục.flac",
        "audio/mot-cua/01-bo-phan-mot-cua.ogg",
        "audio/mot-cua/02-dich-vu-cong-truc-tuyen.m4a",
    ] {
        std::fs::File::options()
            .write(true)
            .open(station.join(entry))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    std::fs::rename(
        station.join("schedules/vi-du-cchc-2025.toml.example"),
        station.join("schedules/cchc-2025.toml"),
    )
    .unwrap();
    let ready = validate();
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    assert!(String::from_utf8_lossy(&ready.stdout)
        .lines()
        .any(|l| l.starts_with("valid: 1 schedule file(s), 2 slot(s)")));
}
