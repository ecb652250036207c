//! `loaxa run`: the station in the foreground, airing its schedules until stopped.

use super::*;

pub(super) fn run(ctx: &Context, rehearse: bool, err: &mut dyn Write) -> Result<(), Failure> {
    // A bad schedule edit must not keep a rebooted station silent: the daemon starts with the
    // other files, and the bad one's last good version if the journal has it.
    let station = {
        let Loaded {
            station,
            diagnostics: diags,
            kept,
        } = ctx.station(Schedules::KeepLastGood, err)?;
        {
            let lang = station.lang();
            print_diagnostics(err, &diags, lang)?;
            let broken: std::collections::BTreeSet<String> = diags
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.file.display().to_string())
                .collect();
            for file in broken {
                if kept.contains(&file) {
                    tracing::error!("{}", tr!(lang, "lịch phát {file} có lỗi: dùng bản đúng đã lưu lần trước cho đến khi sửa xong", "schedule {file} has errors: its last good version stays in force until it is fixed"));
                } else {
                    tracing::error!("{}", tr!(lang, "lịch phát {file} có lỗi và chưa có bản đúng nào: tệp này không được dùng", "schedule {file} has errors and no earlier good version: it is not in force"));
                }
            }
        }
        station
    };
    let lang = station.lang();
    if matches!(station.config.output, OutputSpec::Wav(_) | OutputSpec::Null) {
        tracing::warn!(
            "{}",
            tr!(
                lang,
                "CHÚ Ý: đầu ra là {}. Đổi `output` trong {} để phát ra loa thật.",
                "NOTE: the output is {}. Change `output` in {} to air to the loudspeakers.",
                station.config.output.describe(lang),
                station
                    .config
                    .file
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        );
    }
    // On a read-only file system the journal opens read-only (by SQLite itself, or here as
    // it stands when SQLite cannot): the daemon airs anyway and holds what it would write
    // until the journal can be opened for writing again.
    let mut journal = match Journal::open(&station.config.journal) {
        Ok(j) => j,
        Err(e) => match Journal::open_read_only(&station.config.journal) {
            Ok(j) => {
                tracing::error!(
                    "{}",
                    tr!(
                        lang,
                        "KHÔNG MỞ ĐƯỢC NHẬT KÝ ĐỂ GHI ({e}); loaxa vẫn phát và giữ các sự kiện cho đến khi ghi được",
                        "CANNOT OPEN THE JOURNAL FOR WRITING ({e}); loaxa airs anyway and holds its events until it can"
                    )
                );
                j
            }
            Err(_) => return Err(Failure::Runtime(e.to_string())),
        },
    };
    // The stream for IP loudspeakers is the stream's own: a [stream] with errors, or an
    // encoder that cannot start, is said loudly and the station airs without it — never
    // the other way round.
    let stream = match station.config.section(crate::stream::settings::parse) {
        Ok(s) => s,
        Err(_) => {
            tracing::error!(
                "{}",
                tr!(
                    lang,
                    "mục [stream] có lỗi (xem ở trên): KHÔNG phát luồng tới loa IP cho đến khi sửa; đài vẫn phát",
                    "the [stream] section has errors (see above): NO stream to the IP loudspeakers until it is fixed; the station airs"
                )
            );
            None
        }
    };
    let streamer = match &stream {
        None => None,
        Some(cfg) => {
            match crate::stream::Streamer::start(cfg.clone(), station.config.station_name.clone()) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(
                        "{}",
                        tr!(
                            lang,
                            "không khởi động được luồng phát [stream]: {e}; đài vẫn phát, không có luồng tới loa IP",
                            "cannot start the [stream] output: {e}; the station airs without the stream to the IP loudspeakers"
                        )
                    );
                    None
                }
            }
        }
    };
    if let Some(cfg) = &stream {
        tracing::info!(
            "{}",
            tr!(
                lang,
                "phát luồng tới {} ({:?}, {} kbps)",
                "streaming to {} ({:?}, {} kbps)",
                cfg.url,
                cfg.format,
                cfg.bitrate_kbps
            )
        );
    }
    let streamer = streamer.map(|s| Box::new(s) as Box<dyn crate::audio::tap::Streaming>);
    let audio = AudioHandle::spawn_streaming(open_output(&station.config), streamer)
        .map_err(|e| Failure::Runtime(format!("audio thread: {e}")))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rt = runtime()?;
    let hangup = Arc::new(tokio::sync::Notify::new());
    let reload: crate::daemon::ConfigReload = {
        let (overrides, cwd) = (ctx.overrides.clone(), ctx.cwd.clone());
        Box::new(move || {
            // The station-wide keys only, as at start: a section another part owns never
            // holds a reload back.
            crate::config::load(&overrides, &crate::config::environment(), &cwd, &[])
        })
    };
    rt.block_on(async {
        let hup_notify = hangup.clone();
        let shutdown = async move {
            // SIGHUP must not end the station (its default action would): it reads
            // configuration, schedules and audio again, as a save does.
            let reload = move || hup_notify.notify_one();
            crate::shutdown::stop_signal(Some(&reload)).await;
        };
        daemon::run(
            &station,
            &mut journal,
            audio,
            clock,
            shutdown,
            RunOptions {
                rehearse,
                notifier: crate::systemd::Notifier::from_env(),
                reload: Some(reload),
                hangup: Some(hangup),
                ..RunOptions::default()
            },
        )
        .await
    })
    .map_err(|e| Failure::Runtime(e.to_string()))
}
