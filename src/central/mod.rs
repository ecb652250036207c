//! The province's copy of every station's journal, in PostgreSQL. Stations send their
//! events through `loaxa sync` (see `crate::sync`) to one SQL function that accepts only a
//! batch continuing the chain held for that station's own login; the province's staff run
//! `loaxa central init | add-station | report | verify` against the same database.
//!
//! A copy received as it happened is what makes a station's history hard to rewrite: an
//! edited, truncated or replaced journal no longer continues the chain the centre holds,
//! and the batch that shows it is kept as evidence and the station flagged.

pub mod bulletin;
pub mod commune;
pub mod console;
mod refusal;
pub mod report;
mod schema;
pub mod stations;

use std::net::IpAddr;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use crate::journal::RawEvent;
use crate::lang::Lang;
use crate::tr;
pub use refusal::Refusal;

/// How long a connect or one call may take before the centre counts as unreachable.
pub const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CentralError {
    #[error("the central database address {0}")]
    Address(String),
    #[error("cannot reach the central database {at}: {detail}")]
    Unreachable { at: String, detail: String },
    #[error("the central database {at} refused the login {user}: {detail}")]
    Login {
        at: String,
        user: String,
        detail: String,
    },
    #[error("the central database {at} refused to write: {detail}")]
    NoWrites { at: String, detail: String },
    #[error("central database {at}: {detail}")]
    Query { at: String, detail: String },
    #[error(
        "the central database {at} has schema version {found}; this loaxa knows up to {known}"
    )]
    TooNew { at: String, found: i32, known: i32 },
    #[error("the central database {at} has no loaxa schema yet: run `loaxa central init`")]
    NotInitialised { at: String },
    #[error("the province refused: {}", .0.text(Lang::En))]
    Refused(Refusal),
    #[error("no station {0} at the centre")]
    NoStation(String),
    #[error("the central database {at} has schema version {found}; run `loaxa central init` to bring it to {known}")]
    Outdated { at: String, found: i32, known: i32 },
    #[error("a station id is 1 to 40 lower-case letters, digits and hyphens (not {0:?})")]
    BadStationId(String),
    #[error("a re-admission or a withdrawal needs its reason (--reason)")]
    NoReason,
    #[error("a bulletin needs its title")]
    NoTitle,
    #[error("a bulletin's end must come after its start and after now")]
    BadWindow,
    #[error("a time of day is HH:MM (not {0:?})")]
    BadTime(String),
    #[error("a bulletin repeats 1 to 10 times (not {0})")]
    BadRepeat(u32),
    #[error("the bulletin's clip will not do: {0}")]
    BadClip(String),
    #[error("no station or group {0:?} at the centre")]
    NoTarget(String),
    #[error("no bulletin {0}")]
    NoBulletin(i64),
    #[error("bulletin {0} was withdrawn already")]
    AlreadyWithdrawn(i64),
    #[error("no draft {0}")]
    NoDraft(i64),
    #[error("draft {draft} was approved already (bulletin {bulletin})")]
    AlreadyApproved { draft: i64, bulletin: i64 },
    #[error("draft {draft} was written by {by}: someone else must approve it")]
    SamePerson { draft: i64, by: String },
    #[error("who did it must be named (--by)")]
    NoActor,
    #[error("only a khẩn cấp bulletin may be sent by one person; others are drafted and approved by another")]
    AloneNotEmergency,
    #[error(
        "a group's name is 1 to 40 lower-case letters, digits and hyphens, not `all` (not {0:?})"
    )]
    BadGroup(String),
    #[error("an account name is 1 to 40 lower-case letters, digits, dots, hyphens and underscores (not {0:?})")]
    BadAccount(String),
    #[error("station {0} is not flagged: there is nothing to re-admit")]
    NotFlagged(String),
    #[error("station {0}'s fork point is not located yet: it is found when the station next contacts the centre")]
    NotLocated(String),
}

impl CentralError {
    /// A mistake in what was asked (exit 2), not the database or the link failing (exit 1).
    pub fn is_input(&self) -> bool {
        !matches!(
            self,
            CentralError::Address(_)
                | CentralError::Unreachable { .. }
                | CentralError::Login { .. }
                | CentralError::NoWrites { .. }
                | CentralError::Query { .. }
                | CentralError::TooNew { .. }
                | CentralError::NotInitialised { .. }
                | CentralError::Outdated { .. }
                | CentralError::Refused(_)
        )
    }

    /// The error in the operator's language.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            CentralError::Address(d) => tr!(lang, "địa chỉ cơ sở dữ liệu tỉnh {d}", "the central database address {d}"),
            CentralError::Unreachable { at, detail } => tr!(
                lang,
                "không kết nối được cơ sở dữ liệu của tỉnh {at}: {detail}",
                "cannot reach the central database {at}: {detail}"
            ),
            CentralError::Login { at, user, detail } => tr!(
                lang,
                "cơ sở dữ liệu của tỉnh {at} từ chối đăng nhập {user}: {detail} — kiểm tra tên và tệp mật khẩu trong [sync]",
                "the central database {at} refused the login {user}: {detail} — check the user and password file in [sync]"
            ),
            CentralError::NoWrites { at, detail } => tr!(
                lang,
                "cơ sở dữ liệu của tỉnh {at} không ghi được: {detail}",
                "the central database {at} refused to write: {detail}"
            ),
            CentralError::Query { at, detail } => tr!(
                lang,
                "cơ sở dữ liệu của tỉnh {at}: {detail}",
                "central database {at}: {detail}"
            ),
            CentralError::TooNew { at, found, known } => tr!(
                lang,
                "cơ sở dữ liệu của tỉnh {at} có lược đồ phiên bản {found}; bản loaxa này chỉ biết đến {known}",
                "the central database {at} has schema version {found}; this loaxa knows up to {known}"
            ),
            CentralError::NotInitialised { at } => tr!(
                lang,
                "cơ sở dữ liệu {at} chưa có lược đồ loaxa: chạy `loaxa central init`",
                "the central database {at} has no loaxa schema yet: run `loaxa central init`"
            ),
            CentralError::Refused(why) => tr!(
                lang,
                "tỉnh từ chối: {}",
                "the province refused: {}",
                why.text(lang)
            ),
            CentralError::NoStation(id) => tr!(
                lang,
                "tỉnh không có đài {id}",
                "no station {id} at the centre"
            ),
            CentralError::Outdated { at, found, known } => tr!(
                lang,
                "cơ sở dữ liệu của tỉnh {at} có lược đồ phiên bản {found}: chạy `loaxa central init` để nâng lên {known}",
                "the central database {at} has schema version {found}; run `loaxa central init` to bring it to {known}"
            ),
            CentralError::BadStationId(id) => tr!(
                lang,
                "mã đài gồm 1 đến 40 chữ thường, chữ số và dấu gạch ngang (không phải «{id}»)",
                "a station id is 1 to 40 lower-case letters, digits and hyphens (not “{id}”)"
            ),
            CentralError::NoReason => lang
                .pick(
                    "cho gửi lại hay thu hồi đều phải ghi lý do (--reason)",
                    "a re-admission or a withdrawal needs its reason (--reason)",
                )
                .into(),
            CentralError::NoTitle => lang.pick("bản tin phải có tiêu đề (--title)", "a bulletin needs its title (--title)").into(),
            CentralError::BadWindow => lang
                .pick(
                    "thời hạn của bản tin phải sau lúc bắt đầu và sau bây giờ (--from, --until)",
                    "a bulletin's end must come after its start and after now (--from, --until)",
                )
                .into(),
            CentralError::BadTime(at) => tr!(lang, "giờ phát dạng GIỜ:PHÚT, ví dụ 07:30 (không phải «{at}»)", "a time of day is HH:MM, e.g. 07:30 (not “{at}”)"),
            CentralError::BadRepeat(n) => tr!(lang, "số lần phát từ 1 đến 10 (không phải {n})", "a bulletin repeats 1 to 10 times (not {n})"),
            CentralError::BadClip(why) => tr!(lang, "tệp âm thanh của bản tin không dùng được: {why}", "the bulletin's clip will not do: {why}"),
            CentralError::NoTarget(name) if name.is_empty() => lang
                .pick("bản tin phải gửi cho ai đó (--to all, một nhóm hay mã đài)", "a bulletin must go to someone (--to all, a group or station ids)")
                .into(),
            CentralError::NoTarget(name) => tr!(lang, "tỉnh không có đài hay nhóm «{name}»: không gửi gì", "no station or group “{name}” at the centre: nothing was sent"),
            CentralError::NoBulletin(id) => tr!(lang, "không có bản tin {id}", "no bulletin {id}"),
            CentralError::AlreadyWithdrawn(id) => tr!(lang, "bản tin {id} đã bị thu hồi rồi", "bulletin {id} was withdrawn already"),
            CentralError::NoDraft(id) => tr!(lang, "không có bản nháp {id}", "no draft {id}"),
            CentralError::AlreadyApproved { draft, bulletin } => tr!(
                lang,
                "bản nháp {draft} đã được duyệt rồi (bản tin {bulletin})",
                "draft {draft} was approved already (bulletin {bulletin})"
            ),
            CentralError::SamePerson { draft, by } => tr!(
                lang,
                "bản nháp {draft} do {by} soạn: phải có người khác duyệt",
                "draft {draft} was written by {by}: someone else must approve it"
            ),
            CentralError::NoActor => lang
                .pick("phải ghi tên người làm (--by)", "who did it must be named (--by)")
                .into(),
            CentralError::AloneNotEmergency => lang
                .pick(
                    "chỉ bản tin khẩn cấp mới được một người gửi; bản tin khác phải soạn nháp để người khác duyệt",
                    "only a khẩn cấp bulletin may be sent by one person; others are drafted and approved by another",
                )
                .into(),
            CentralError::BadGroup(name) => tr!(
                lang,
                "tên nhóm gồm 1 đến 40 chữ thường, chữ số, dấu gạch ngang, không phải `all` (không phải «{name}»)",
                "a group's name is 1 to 40 lower-case letters, digits and hyphens, not `all` (not “{name}”)"
            ),
            CentralError::BadAccount(name) => tr!(
                lang,
                "tên tài khoản gồm 1 đến 40 chữ thường, chữ số, dấu chấm, gạch ngang, gạch dưới (không phải «{name}»)",
                "an account name is 1 to 40 lower-case letters, digits, dots, hyphens and underscores (not “{name}”)"
            ),
            CentralError::NotFlagged(id) => tr!(
                lang,
                "đài {id} không bị cảnh báo: không có gì để cho gửi lại",
                "station {id} is not flagged: there is nothing to re-admit"
            ),
            CentralError::NotLocated(id) => tr!(
                lang,
                "chưa xác định được điểm rẽ nhánh của đài {id}: sẽ xác định khi đài liên lạc lại với tỉnh",
                "station {id}'s fork point is not located yet: it is found when the station next contacts the centre"
            ),
        }
    }
}

/// A central database to connect to: the parsed address, whether it is on this machine,
/// and how to name it without its password.
#[derive(Debug, Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub display: String,
    pub user: String,
}

impl PartialEq for Target {
    fn eq(&self, other: &Self) -> bool {
        self.display == other.display
            && self.user == other.user
            && self.config.get_password() == other.config.get_password()
    }
}

impl Target {
    /// Parses a PostgreSQL URL or key=value string. TLS is required unless every host is a
    /// local socket or loopback; an address that turns it off for a remote host is refused.
    pub fn parse(text: &str, lang: Lang) -> Result<Target, String> {
        let mut config: tokio_postgres::Config = text.parse().map_err(|e| {
            tr!(
                lang,
                "không đọc được địa chỉ cơ sở dữ liệu ({e}); ví dụ \"postgresql://tinh.example.vn/loaxa\"",
                "cannot read the database address ({e}); e.g. \"postgresql://tinh.example.vn/loaxa\""
            )
        })?;
        if config.get_hosts().is_empty() {
            return Err(lang
                .pick(
                    "địa chỉ cơ sở dữ liệu thiếu máy chủ (host)",
                    "the database address names no host",
                )
                .into());
        }
        // Judged on the address actually connected to: a `hostaddr` is dialled whatever
        // `host` says (`host=localhost hostaddr=<remote>` is remote), each host by its own.
        let local = local_only(config.get_hosts(), config.get_hostaddrs());
        if local && !text.contains("sslmode") {
            // On this machine TLS protects nothing, and Debian's own cluster offers it with a
            // self-signed certificate no store trusts: plain, unless the address asks for it.
            config.ssl_mode(SslMode::Disable);
        }
        if !local {
            if config.get_ssl_mode() == SslMode::Disable {
                return Err(lang
                    .pick(
                        "kết nối đến máy chủ ở xa phải dùng TLS: bỏ sslmode=disable",
                        "a remote database must be reached over TLS: remove sslmode=disable",
                    )
                    .into());
            }
            config.ssl_mode(SslMode::Require);
        }
        config.connect_timeout(TIMEOUT);
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("loaxa");
        // Named as it is dialled: a host given a `hostaddr` shows that address too.
        let host = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let name = match h {
                    Host::Unix(p) => p.display().to_string(),
                    Host::Tcp(n) => n.clone(),
                };
                match config.get_hostaddrs().get(i) {
                    Some(ip) => format!("{name} ({ip})"),
                    None => name,
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let db = config.get_dbname().unwrap_or("").to_string();
        let user = config.get_user().unwrap_or("").to_string();
        Ok(Target {
            display: format!("{host}:{port}/{db}"),
            user,
            config,
        })
    }
}

/// Whether every address a connection may be made to is on this machine: a Unix socket, a
/// loopback address, or `localhost` — unless a `hostaddr` says where the connection really
/// goes. (The driver reads neither `PG*` variables nor service files, and refuses `service=`:
/// what it dials is in the address itself.)
fn local_only(hosts: &[Host], hostaddrs: &[IpAddr]) -> bool {
    let n = hosts.len().max(hostaddrs.len());
    (0..n).all(|i| match (hostaddrs.get(i), hosts.get(i)) {
        (Some(ip), _) => ip.is_loopback(),
        (None, Some(Host::Unix(_))) => true,
        (None, Some(Host::Tcp(name))) => {
            name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        (None, None) => false,
    })
}

/// Connects, over TLS when the address asks for it (checked against the system's
/// certificate store, as relays are).
pub async fn connect(t: &Target) -> Result<Client, CentralError> {
    let tls =
        tokio_postgres_rustls::MakeRustlsConnect::new((*crate::net::http::tls_config()).clone());
    let connecting = t.config.connect(tls);
    let (client, connection) = tokio::time::timeout(TIMEOUT, connecting)
        .await
        .map_err(|_| CentralError::Unreachable {
            at: t.display.clone(),
            detail: format!("no answer in {} s", TIMEOUT.as_secs()),
        })?
        .map_err(|e| classify(t, &e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("central connection: {e}");
        }
    });
    Ok(client)
}

/// Connects as [`connect`] does, keeping the connection's notifications: each `NOTIFY` on
/// a channel the client listens to arrives as its payload; the receiver ends when the
/// connection does.
pub async fn connect_listening(
    t: &Target,
) -> Result<(Client, tokio::sync::mpsc::UnboundedReceiver<String>), CentralError> {
    let tls =
        tokio_postgres_rustls::MakeRustlsConnect::new((*crate::net::http::tls_config()).clone());
    let (client, mut connection) = tokio::time::timeout(TIMEOUT, t.config.connect(tls))
        .await
        .map_err(|_| CentralError::Unreachable {
            at: t.display.clone(),
            detail: format!("no answer in {} s", TIMEOUT.as_secs()),
        })?
        .map_err(|e| classify(t, &e))?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::debug!("central connection: {e}");
                    return;
                }
                None => return,
            }
        }
    });
    Ok((client, rx))
}

/// Names a driver error for the operator: a refused login, a database that takes no
/// writes, a lost connection, or the database's own message.
pub fn classify(t: &Target, e: &tokio_postgres::Error) -> CentralError {
    let at = t.display.clone();
    if let Some(db) = e.as_db_error() {
        let detail = db.message().to_string();
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return CentralError::Login {
                at,
                user: t.user.clone(),
                detail,
            };
        }
        if *code == SqlState::DISK_FULL
            || *code == SqlState::READ_ONLY_SQL_TRANSACTION
            || *code == SqlState::IO_ERROR
            || *code == SqlState::INSUFFICIENT_RESOURCES
            || *code == SqlState::OUT_OF_MEMORY
        {
            return CentralError::NoWrites { at, detail };
        }
        // Objects of the schema that are not there: the centre was never initialised (or
        // only in part) — "relation loaxa.… does not exist" says nothing to a province.
        if *code == SqlState::UNDEFINED_FUNCTION
            || *code == SqlState::INVALID_SCHEMA_NAME
            || *code == SqlState::UNDEFINED_TABLE
        {
            return CentralError::NotInitialised { at };
        }
        return CentralError::Query { at, detail };
    }
    // Not the server's answer: the connection (its TLS, its socket) failed.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    CentralError::Unreachable { at, detail }
}

/// Runs `f` against the centre with [`TIMEOUT`], naming its error.
async fn within<T>(
    t: &Target,
    f: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, CentralError> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(r) => r.map_err(|e| classify(t, &e)),
        Err(_) => Err(CentralError::Unreachable {
            at: t.display.clone(),
            detail: format!("no answer in {} s", TIMEOUT.as_secs()),
        }),
    }
}

/// Runs `work` (a future not yet polled) in one transaction: committed if it succeeds,
/// rolled back if not.
async fn transaction<T>(
    t: &Target,
    client: &Client,
    work: impl std::future::Future<Output = Result<T, CentralError>>,
) -> Result<T, CentralError> {
    within(t, client.batch_execute("BEGIN")).await?;
    match work.await {
        Ok(v) => {
            within(t, client.batch_execute("COMMIT")).await?;
            Ok(v)
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// Creates the schema, or brings it to this loaxa's version; returns (from, to).
pub async fn init(t: &Target, client: &Client) -> Result<(i32, i32), CentralError> {
    let known = schema::MIGRATIONS.len() as i32;
    within(
        t,
        client.batch_execute(
            "CREATE SCHEMA IF NOT EXISTS loaxa;
             CREATE TABLE IF NOT EXISTS loaxa.migrations (
                 version integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now());
             SELECT pg_advisory_lock(7406113)",
        ),
    )
    .await?;
    let result = async {
        let from: i32 = within(
            t,
            client.query_one(
                "SELECT coalesce(max(version), 0) FROM loaxa.migrations",
                &[],
            ),
        )
        .await?
        .get(0);
        if from > known {
            return Err(CentralError::TooNew {
                at: t.display.clone(),
                found: from,
                known,
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(from as usize) {
            let version = i as i32 + 1;
            let batch = format!(
                "BEGIN;\n{sql}\nINSERT INTO loaxa.migrations (version) VALUES ({version});\nCOMMIT;"
            );
            if let Err(e) = within(t, client.batch_execute(&batch)).await {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(e);
            }
        }
        Ok((from, known))
    }
    .await;
    let _ = client
        .batch_execute("SELECT pg_advisory_unlock(7406113)")
        .await;
    result
}

/// Checks the schema is this loaxa's (for commands that only read it).
pub async fn check_schema(t: &Target, client: &Client) -> Result<(), CentralError> {
    let known = schema::MIGRATIONS.len() as i32;
    let row = within(
        t,
        client.query_one(
            "SELECT CASE WHEN to_regclass('loaxa.migrations') IS NULL THEN -1
                    ELSE (SELECT coalesce(max(version), 0) FROM loaxa.migrations) END",
            &[],
        ),
    )
    .await?;
    let found: i32 = row.get(0);
    if found < 1 {
        return Err(CentralError::NotInitialised {
            at: t.display.clone(),
        });
    }
    if found > known {
        return Err(CentralError::TooNew {
            at: t.display.clone(),
            found,
            known,
        });
    }
    if found < known {
        return Err(CentralError::Outdated {
            at: t.display.clone(),
            found,
            known,
        });
    }
    Ok(())
}

/// A station id as the centre accepts it.
pub fn valid_station_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

/// The login role a station sends as.
pub fn login_for(id: &str) -> String {
    format!("loaxa_st_{}", id.replace('-', "_"))
}

/// Adds a station and creates its login, which may only call the two functions; returns
/// the login and its new password.
pub async fn add_station(
    t: &Target,
    client: &Client,
    id: &str,
    name: Option<&str>,
) -> Result<(String, String), CentralError> {
    if !valid_station_id(id) {
        return Err(CentralError::BadStationId(id.to_string()));
    }
    check_schema(t, client).await?;
    let login = login_for(id);
    // The password is hex, so it needs no quoting in the statement (a role's password
    // cannot be a bound parameter).
    let password = crate::net::token()[..32].to_string();
    let exists: bool = within(
        t,
        client.query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
            &[&login],
        ),
    )
    .await?
    .get(0);
    let role_sql = if exists {
        format!("ALTER ROLE \"{login}\" LOGIN PASSWORD '{password}'")
    } else {
        format!("CREATE ROLE \"{login}\" LOGIN PASSWORD '{password}' IN ROLE loaxa_station")
    };
    let made = within(
        t,
        client.batch_execute(&format!(
            "BEGIN; {role_sql}; GRANT loaxa_station TO \"{login}\"; COMMIT;"
        )),
    )
    .await;
    if let Err(e) = made {
        let _ = client.batch_execute("ROLLBACK").await;
        return Err(e);
    }
    within(
        t,
        client.execute(
            "INSERT INTO loaxa.stations (id, login, name) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = coalesce(EXCLUDED.name, loaxa.stations.name)",
            &[&id, &login, &name],
        ),
    )
    .await?;
    Ok((login, password))
}

/// What the centre holds for a station: its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// The head the centre holds for `station` (as the station's own login).
pub async fn head(t: &Target, client: &Client, station: &str) -> Result<Head, CentralError> {
    let row = within(
        t,
        client.query_one("SELECT * FROM loaxa.head($1)", &[&station]),
    )
    .await?;
    refused(&row, 2)?;
    Ok(Head {
        seq: row.get(0),
        hash: row.get(1),
    })
}

/// The centre's refusal in column `i` of an answer, if it refused.
fn refused(row: &tokio_postgres::Row, i: usize) -> Result<(), CentralError> {
    match row.get::<_, Option<serde_json::Value>>(i) {
        Some(why) => Err(CentralError::Refused(Refusal::from_json(why))),
        None => Ok(()),
    }
}

/// Reports the station's head (`seq`, `hash`) and its hash at `at` (the lesser of its
/// head and the centre's); the centre checks them against its copy and refuses a station
/// whose history left it (`Refusal::Diverged`) or that is flagged.
pub async fn contact(
    t: &Target,
    client: &Client,
    station: &str,
    (seq, hash): (i64, &str),
    (at, at_hash): (i64, &str),
) -> Result<(), CentralError> {
    let row = within(
        t,
        client.query_one(
            "SELECT * FROM loaxa.contact($1, $2, $3, $4, $5)",
            &[&station, &seq, &hash, &at, &at_hash],
        ),
    )
    .await?;
    refused(&row, 2)
}

/// The hash the centre holds for the station at `seq` (`None` beyond its copy).
pub async fn hash_at(
    t: &Target,
    client: &Client,
    station: &str,
    seq: i64,
) -> Result<Option<String>, CentralError> {
    let row = within(
        t,
        client.query_one("SELECT * FROM loaxa.hash_at($1, $2)", &[&station, &seq]),
    )
    .await?;
    refused(&row, 1)?;
    Ok(row.get(0))
}

/// Where a station's history leaves the centre's copy, as the station located it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkPoint {
    /// The first differing event.
    pub at: i64,
    /// The hash both hold at `at - 1`.
    pub prev_hash: String,
    /// The station's hash at `at`; `None` when its journal ends before it.
    pub at_hash: Option<String>,
    /// The station's head.
    pub station_seq: i64,
}

/// Sends the fork point and a piece of the station's events from it on; the centre checks
/// the claim, keeps the events and always refuses: `Refusal::Fork` saying how far it has
/// kept the station's side, or `Refusal::BadEvidence`.
pub async fn fork(
    t: &Target,
    client: &Client,
    station: &str,
    point: &ForkPoint,
    events: &[RawEvent],
) -> Result<Refusal, CentralError> {
    let answer = async {
        let json = serde_json::to_value(events).map_err(|e| CentralError::Query {
            at: t.display.clone(),
            detail: e.to_string(),
        })?;
        let row = within(
            t,
            client.query_one(
                "SELECT * FROM loaxa.fork($1, $2, $3, $4, $5, $6)",
                &[
                    &station,
                    &point.at,
                    &point.prev_hash,
                    &point.at_hash,
                    &point.station_seq,
                    &json,
                ],
            ),
        )
        .await?;
        refused(&row, 0)
    }
    .await;
    match answer {
        Err(CentralError::Refused(r)) => Ok(r),
        Err(e) => Err(e),
        Ok(()) => Ok(Refusal::Unknown),
    }
}

/// Sends one batch; returns the head the centre then holds, or its refusal.
pub async fn ingest(
    t: &Target,
    client: &Client,
    station: &str,
    events: &[RawEvent],
) -> Result<Head, CentralError> {
    let json = serde_json::to_value(events).map_err(|e| CentralError::Query {
        at: t.display.clone(),
        detail: e.to_string(),
    })?;
    let row = within(
        t,
        client.query_one("SELECT * FROM loaxa.ingest($1, $2)", &[&station, &json]),
    )
    .await?;
    refused(&row, 2)?;
    Ok(Head {
        seq: row.get(0),
        hash: row.get(1),
    })
}

/// One station's chain as `central verify` found it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StationCheck {
    pub station: String,
    /// The walk began after this event (the verified checkpoint; 0 for a full walk).
    pub from: i64,
    pub events: i64,
    pub head: String,
    /// The first break found in the stored chain.
    pub problem: Option<Break>,
    /// Where the station's history left the centre's copy, if it is flagged.
    pub flag: Option<Flag>,
    /// Forks kept as evidence, and re-admissions, ever.
    pub forks: i64,
    pub readmissions: i64,
}

/// A station flagged for a fork: the event it was found at, and whether that is the first
/// differing event (located) or only an upper bound found at a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Flag {
    pub at: Option<i64>,
    pub located: bool,
}

impl Flag {
    pub fn text(&self, lang: Lang) -> String {
        match (self.at, self.located) {
            (Some(at), true) => tr!(
                lang,
                "nhật ký của đài rẽ khỏi bản của tỉnh từ sự kiện {at}",
                "the station's journal leaves the province's copy at event {at}"
            ),
            (Some(at), false) => tr!(
                lang,
                "nhật ký của đài khác bản của tỉnh tại hoặc trước sự kiện {at} (chưa xác định điểm rẽ nhánh)",
                "the station's journal differs from the province's copy at or before event {at} (fork point not yet located)"
            ),
            (None, _) => lang
                .pick(
                    "nhật ký của đài khác bản của tỉnh",
                    "the station's journal differs from the province's copy",
                )
                .into(),
        }
    }
}

/// A break in a chain as stored at the centre.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Break {
    Malformed {
        seq: i64,
    },
    Missing {
        from: i64,
        to: i64,
    },
    NotFollowing {
        seq: i64,
    },
    Altered {
        seq: i64,
    },
    /// The event a checkpoint was verified at no longer has the hash it had.
    ChangedSinceVerified {
        seq: i64,
    },
    /// The stored events end elsewhere than the station's recorded head.
    HeadMismatch {
        events: i64,
        head: i64,
    },
}

impl Break {
    pub fn text(&self, lang: Lang) -> String {
        match *self {
            Break::Malformed { seq } => tr!(
                lang,
                "sự kiện {seq} có dòng dữ liệu hỏng",
                "event {seq} has a malformed row"
            ),
            Break::Missing { from, to } => tr!(
                lang,
                "thiếu các sự kiện {from} đến {to}",
                "events {from} to {to} are missing"
            ),
            Break::NotFollowing { seq } => tr!(
                lang,
                "sự kiện {seq} không nối tiếp sự kiện {}: mã băm trước khác",
                "event {seq} does not follow event {}: its previous hash differs",
                seq - 1
            ),
            Break::Altered { seq } => tr!(
                lang,
                "sự kiện {seq} đã bị sửa: nội dung không cho ra mã băm của nó",
                "event {seq} was altered: its content does not give its hash"
            ),
            Break::ChangedSinceVerified { seq } => tr!(
                lang,
                "sự kiện {seq} đã đổi từ lần kiểm tra trước (chạy `central verify --full`)",
                "event {seq} changed since it was last verified (run `central verify --full`)"
            ),
            Break::HeadMismatch { events, head } => tr!(
                lang,
                "các sự kiện lưu dừng ở {events} nhưng đầu chuỗi ghi {head}",
                "the stored events end at {events} but the station's head says {head}"
            ),
        }
    }
}

/// Re-walks the stored chains of `stations` (all if empty), recomputing every hash: from
/// each station's verified checkpoint, or from the start with `full`. Each station is read
/// in one snapshot (a repeatable-read transaction), so stations sending meanwhile never
/// look broken; an intact walk moves the checkpoint to the head it reached.
pub async fn verify(
    t: &Target,
    client: &Client,
    stations: &[String],
    full: bool,
) -> Result<Vec<StationCheck>, CentralError> {
    check_schema(t, client).await?;
    let ids: Vec<String> = within(
        t,
        client.query(
            "SELECT s.id FROM loaxa.stations s
             WHERE cardinality($1::text[]) = 0 OR s.id = ANY($1) ORDER BY s.id",
            &[&stations],
        ),
    )
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    for wanted in stations {
        if !ids.contains(wanted) {
            return Err(CentralError::NoStation(wanted.clone()));
        }
    }
    let mut out = Vec::new();
    for station in ids {
        within(
            t,
            client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        )
        .await?;
        let check = verify_one(t, client, &station, full).await;
        let _ = client.batch_execute("COMMIT").await;
        out.push(check?);
    }
    // The new checkpoints in one statement (one commit, not one per station), each only if
    // the event it names still has that hash.
    let intact: Vec<&StationCheck> = out
        .iter()
        .filter(|c| c.problem.is_none() && c.events > c.from)
        .collect();
    let ids: Vec<&str> = intact.iter().map(|c| c.station.as_str()).collect();
    let seqs: Vec<i64> = intact.iter().map(|c| c.events).collect();
    let hashes: Vec<&str> = intact.iter().map(|c| c.head.as_str()).collect();
    within(
        t,
        client.execute(
            "UPDATE loaxa.stations s SET verified_seq = v.seq, verified_hash = v.hash,
                    verified_at = now()
             FROM unnest($1::text[], $2::bigint[], $3::text[]) AS v (id, seq, hash)
             WHERE s.id = v.id AND loaxa.held_hash(v.id, v.seq) = v.hash",
            &[&ids, &seqs, &hashes],
        ),
    )
    .await?;
    Ok(out)
}

/// One station's walk, inside the caller's snapshot.
async fn verify_one(
    t: &Target,
    client: &Client,
    station: &str,
    full: bool,
) -> Result<StationCheck, CentralError> {
    let r = within(
        t,
        client.query_one(
            "SELECT s.head_seq, s.head_hash, s.flag, s.fork_seq,
                    (SELECT f.located FROM loaxa.forks f
                      WHERE f.station = s.id AND f.readmitted_at IS NULL
                      ORDER BY f.id DESC LIMIT 1),
                    (SELECT count(*) FROM loaxa.forks f WHERE f.station = s.id),
                    (SELECT count(*) FROM loaxa.readmissions a WHERE a.station = s.id),
                    s.verified_seq, s.verified_hash,
                    loaxa.held_hash(s.id, s.verified_seq)
             FROM loaxa.stations s WHERE s.id = $1",
            &[&station],
        ),
    )
    .await?;
    let head_seq: i64 = r.get(0);
    let head_hash: String = r.get(1);
    let (from, from_hash) = if full {
        (0, crate::journal::GENESIS.to_string())
    } else {
        (r.get::<_, i64>(7), r.get::<_, String>(8))
    };
    let mut check = StationCheck {
        station: station.to_string(),
        from,
        events: from,
        head: from_hash.clone(),
        problem: None,
        flag: r.get::<_, Option<String>>(2).map(|_| Flag {
            at: r.get(3),
            located: r.get::<_, Option<bool>>(4).unwrap_or(false),
        }),
        forks: r.get(5),
        readmissions: r.get(6),
    };
    if !full && r.get::<_, Option<String>>(9).as_deref() != Some(from_hash.as_str()) {
        check.problem = Some(Break::ChangedSinceVerified { seq: from });
        return Ok(check);
    }
    walk(t, client, station, head_seq, &mut check).await?;
    if check.problem.is_none() && (check.events != head_seq || check.head != head_hash) {
        check.problem = Some(Break::HeadMismatch {
            events: check.events,
            head: head_seq,
        });
    }
    Ok(check)
}

/// Walks one station's events after `check.events` up to `to`, in order and in pages,
/// stopping at the first break.
async fn walk(
    t: &Target,
    client: &Client,
    station: &str,
    to: i64,
    check: &mut StationCheck,
) -> Result<(), CentralError> {
    const PAGE: i64 = 20_000;
    let mut prev = check.head.clone();
    let mut last = check.events;
    loop {
        let rows = within(
            t,
            client.query(
                "SELECT seq, recorded_at, kind, columns, body, prev_hash, hash
                 FROM loaxa.events WHERE station = $1 AND seq > $2 AND seq <= $3
                 ORDER BY seq LIMIT $4",
                &[&station, &last, &to, &PAGE],
            ),
        )
        .await?;
        let n = rows.len() as i64;
        for r in rows {
            let columns: Vec<Option<String>> = r.get(3);
            let seq: i64 = r.get(0);
            let Ok(columns) = <[Option<String>; 12]>::try_from(columns) else {
                check.problem = Some(Break::Malformed { seq });
                return Ok(());
            };
            let e = RawEvent {
                seq,
                recorded_at: r.get(1),
                kind: r.get(2),
                columns,
                body: r.get(4),
                prev_hash: r.get(5),
                hash: r.get(6),
            };
            if e.seq != last + 1 {
                check.problem = Some(Break::Missing {
                    from: last + 1,
                    to: e.seq - 1,
                });
                return Ok(());
            }
            if e.prev_hash != prev {
                check.problem = Some(Break::NotFollowing { seq: e.seq });
                return Ok(());
            }
            if e.link() != e.hash {
                check.problem = Some(Break::Altered { seq: e.seq });
                return Ok(());
            }
            check.events = e.seq;
            last = e.seq;
            prev = e.hash;
        }
        check.head = prev.clone();
        if n < PAGE {
            return Ok(());
        }
    }
}

/// What a re-admission did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readmission {
    pub at_seq: i64,
    /// The centre's events from the fork point on, moved to the evidence.
    pub replaced: i64,
    /// The station's events from the fork point on, now its chain.
    pub accepted: i64,
    pub head_seq: i64,
}

/// Re-admits a flagged station: its chain from the located fork point on is accepted as
/// its continuation, the centre's own events from there kept with the fork's evidence, and
/// who (this login, and `by`, the person at the province's console), when and `reason`
/// recorded.
pub async fn readmit(
    t: &Target,
    client: &Client,
    station: &str,
    reason: &str,
    by: Option<&str>,
) -> Result<Readmission, CentralError> {
    check_schema(t, client).await?;
    if reason.trim().is_empty() {
        return Err(CentralError::NoReason);
    }
    let row = within(
        t,
        client.query_opt(
            "SELECT s.flag IS NOT NULL,
                    (SELECT f.located FROM loaxa.forks f
                      WHERE f.station = s.id AND f.readmitted_at IS NULL
                      ORDER BY f.id DESC LIMIT 1)
             FROM loaxa.stations s WHERE s.id = $1",
            &[&station],
        ),
    )
    .await?;
    let Some(row) = row else {
        return Err(CentralError::NoStation(station.to_string()));
    };
    if !row.get::<_, bool>(0) {
        return Err(CentralError::NotFlagged(station.to_string()));
    }
    if row.get::<_, Option<bool>>(1) != Some(true) {
        return Err(CentralError::NotLocated(station.to_string()));
    }
    let readmitted = async {
        let row = within(
            t,
            client.query_one(
                "SELECT * FROM loaxa.readmit($1, $2)",
                &[&station, &reason.trim()],
            ),
        )
        .await?;
        if let Some(by) = by {
            within(
                t,
                client.execute(
                    "UPDATE loaxa.readmissions SET by_person = $2 WHERE id =
                         (SELECT max(id) FROM loaxa.readmissions WHERE station = $1)",
                    &[&station, &by.trim()],
                ),
            )
            .await?;
        }
        Ok::<_, CentralError>(row)
    };
    let row = transaction(t, client, readmitted).await?;
    Ok(Readmission {
        at_seq: row.get(0),
        replaced: row.get(1),
        accepted: row.get(2),
        head_seq: row.get(3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (#23): `host=localhost hostaddr=<remote>` passed as local and connected in
    /// plain text. TLS is required by where the connection goes, in every form of address.
    #[test]
    fn tls_is_required_for_any_address_the_connection_really_goes_to_off_this_machine() {
        let lang = Lang::En;
        let refused = |a: &str| {
            let e = Target::parse(a, lang)
                .err()
                .unwrap_or_else(|| panic!("{a} passed"));
            assert!(e.contains("TLS") || e.contains("cannot read"), "{a}: {e}");
        };
        let tls = |a: &str| {
            let t = Target::parse(a, lang).unwrap_or_else(|e| panic!("{a}: {e}"));
            assert_eq!(t.config.get_ssl_mode(), SslMode::Require, "{a}");
            t
        };
        let plain = |a: &str| {
            let t = Target::parse(a, lang).unwrap_or_else(|e| panic!("{a}: {e}"));
            assert_eq!(t.config.get_ssl_mode(), SslMode::Disable, "{a}");
        };
        // Keywords and URLs, a remote host with TLS turned off: refused.
        refused("host=tinh.example.vn dbname=loaxa sslmode=disable");
        refused("postgresql://tinh.example.vn/loaxa?sslmode=disable");
        // `hostaddr` is where it really goes, whatever `host` says.
        refused("host=localhost hostaddr=203.0.113.5 dbname=loaxa sslmode=disable");
        refused("postgresql://localhost/loaxa?hostaddr=203.0.113.5&sslmode=disable");
        let t = tls("host=localhost hostaddr=203.0.113.5 dbname=loaxa");
        assert!(t.display.contains("203.0.113.5"), "{}", t.display);
        // Several hosts: one remote is enough.
        refused("host=localhost,tinh.example.vn dbname=loaxa sslmode=disable");
        tls("host=127.0.0.1,tinh.example.vn dbname=loaxa");
        // On this machine: plain unless asked.
        plain("host=localhost,127.0.0.1 dbname=loaxa");
        plain("host=/var/run/postgresql dbname=loaxa");
        plain("host=localhost hostaddr=127.0.0.1 dbname=loaxa");
        tls("postgresql://localhost/loaxa?sslmode=require");
        // The driver reads no service file nor PG* variables: the address says it all.
        refused("service=tinh dbname=loaxa");
        assert!(Target::parse("dbname=loaxa", lang).is_err());
    }
}
