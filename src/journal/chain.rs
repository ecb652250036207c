//! The hash chain: how one event's hash is computed over the one before it, and verifying a
//! journal, which names the first event altered, removed, inserted or reordered.

use super::*;

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub events: i64,
    pub head: String,
    pub problem: Option<Problem>,
    /// With a pin: whether the pinned event still has the pinned hash.
    pub pin_matches: Option<bool>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none() && self.pin_matches != Some(false)
    }
}

/// The first break in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The event's content no longer matches its hash.
    Altered { seq: i64 },
    /// Events between these two are gone.
    Removed { after: i64, before: i64 },
    /// An event that was never part of the chain sits here.
    Inserted { seq: i64 },
    /// The event is out of its place.
    Reordered { seq: i64 },
}

impl Problem {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            Problem::Altered { seq } => tr!(
                lang,
                "sự kiện số {seq} đã bị sửa (nội dung không khớp mã băm)",
                "event {seq} was altered (its content no longer matches its hash)"
            ),
            Problem::Removed { after, before } => tr!(
                lang,
                "đã bị xóa sự kiện giữa số {after} và số {before}",
                "events between {after} and {before} were removed"
            ),
            Problem::Inserted { seq } => tr!(
                lang,
                "sự kiện số {seq} bị chèn thêm vào (không thuộc chuỗi ban đầu)",
                "event {seq} was inserted (it was never part of the chain)"
            ),
            Problem::Reordered { seq } => tr!(
                lang,
                "sự kiện số {seq} bị đổi chỗ",
                "event {seq} was moved out of its place"
            ),
        }
    }
}

/// One stored event as it is chained: every field the hash covers, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEvent {
    pub seq: i64,
    pub recorded_at: String,
    pub kind: String,
    /// The indexed columns in storage order (see [`Columns`]), numbers as decimal text.
    pub columns: [Option<String>; 12],
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

impl RawEvent {
    /// What this event's hash must be, given its stored previous hash.
    pub fn link(&self) -> String {
        let fields: [Option<&[u8]>; 12] =
            std::array::from_fn(|i| self.columns[i].as_deref().map(str::as_bytes));
        hex(&chain_digest(
            self.prev_hash.as_bytes(),
            self.seq,
            self.recorded_at.as_bytes(),
            self.kind.as_bytes(),
            &fields,
            self.body.as_bytes(),
        ))
    }
}

/// The hash that starts the chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain link: a hash over the previous hash and this event's canonical encoding (every
/// stored field, each length-prefixed, absent fields marked as such).
pub fn chain_hash(
    prev: &str,
    seq: i64,
    recorded_at: &str,
    kind: &str,
    columns: &Columns,
    body: &str,
) -> String {
    let text = columns.text();
    let fields: [Option<&[u8]>; 12] =
        std::array::from_fn(|i| text[i].as_deref().map(str::as_bytes));
    hex(&chain_digest(
        prev.as_bytes(),
        seq,
        recorded_at.as_bytes(),
        kind.as_bytes(),
        &fields,
        body.as_bytes(),
    ))
}

/// The chain hash over borrowed fields (columns as their text), as raw bytes.
pub(super) fn chain_digest(
    prev: &[u8],
    seq: i64,
    recorded_at: &[u8],
    kind: &[u8],
    columns: &[Option<&[u8]>; 12],
    body: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    let mut field = |part: Option<&[u8]>| match part {
        Some(p) => {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        None => h.update(u64::MAX.to_le_bytes()),
    };
    let mut digits = [0u8; 24];
    field(Some(prev));
    field(Some(decimal(seq, &mut digits)));
    field(Some(recorded_at));
    field(Some(kind));
    for c in columns {
        field(*c);
    }
    field(Some(body));
    h.finalize().into()
}

/// `v` in decimal, written into `buf` (no allocation: verify does this for every row).
pub(super) fn decimal(v: i64, buf: &mut [u8; 24]) -> &[u8] {
    let mut i = buf.len();
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Decodes a lower-case hex SHA-256; `None` if it is not one.
pub(super) fn unhex(b: &[u8]) -> Option<[u8; 32]> {
    if b.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(out)
}
impl Journal {
    /// Walks the hash chain from the first event and reports the first one that was altered,
    /// removed, inserted or reordered. With `pin` (an event number and the hash a printed
    /// report showed for it), also checks that the journal still holds that very history.
    pub fn verify(&self, pin: Option<(i64, &str)>) -> Result<Verification, JournalError> {
        self.verify_counting(pin, &std::sync::atomic::AtomicI64::new(0))
    }

    /// The events in the journal (its last sequence number), for a progress bar.
    pub fn event_count(&self) -> Result<i64, JournalError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(self.sql())
    }

    /// As [`Journal::verify`], adding to `checked` as it goes (every few thousand events), so
    /// another thread can show progress on a large journal.
    pub fn verify_counting(
        &self,
        pin: Option<(i64, &str)>,
        checked: &std::sync::atomic::AtomicI64,
    ) -> Result<Verification, JournalError> {
        // The chain is checked in two halves at once, one per core, each on its own read-only
        // connection: the second half starts from the stored hash at the split, which the
        // first half checks. The first problem found, in sequence order, is the one reported.
        let last: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(self.sql())?;
        let split = if last > 100_000 { last / 2 } else { last };
        let at_split: (i64, String) = if split == last {
            (0, GENESIS.to_string())
        } else {
            self.conn
                .query_row(
                    "SELECT seq, hash FROM events WHERE seq <= ?1 ORDER BY seq DESC LIMIT 1",
                    [split],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(self.sql())?
                .unwrap_or((0, GENESIS.to_string()))
        };
        let path = self.path.clone();
        let open = || {
            Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(
                |source| JournalError::Sqlite {
                    path: path.clone(),
                    source,
                },
            )
        };
        let (first, second) = if split == last {
            (
                verify_span(
                    &self.conn,
                    &self.path,
                    (0, GENESIS.to_string()),
                    i64::MAX,
                    pin,
                    checked,
                )?,
                None,
            )
        } else {
            std::thread::scope(|scope| -> Result<_, JournalError> {
                let tail =
                    scope.spawn(|| verify_span(&open()?, &path, at_split, i64::MAX, pin, checked));
                let head = verify_span(
                    &self.conn,
                    &self.path,
                    (0, GENESIS.to_string()),
                    split,
                    pin,
                    checked,
                )?;
                let tail = tail.join().map_err(|_| JournalError::Corrupt {
                    path: path.clone(),
                    seq: split,
                    reason: "verification thread failed".into(),
                })??;
                Ok((head, Some(tail)))
            })?
        };
        let mut v = first;
        if let Some(t) = second {
            v.problem = v.problem.or(t.problem);
            v.events += t.events;
            if t.events > 0 {
                v.head = t.head;
            }
            v.pin_matches = match (v.pin_matches, t.pin_matches) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (a, b) => a.or(b),
            };
        }
        Ok(v)
    }
}

/// Checks the rows after `after` (a sequence number and the hash it should carry) up to
/// `upto`, inclusive.
pub(super) fn verify_span(
    conn: &Connection,
    path: &Path,
    after: (i64, String),
    upto: i64,
    pin: Option<(i64, &str)>,
    checked: &std::sync::atomic::AtomicI64,
) -> Result<Verification, JournalError> {
    let sql = |source| JournalError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {ROW} FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq"
        ))
        .map_err(sql)?;
    let mut rows = stmt.query(params![after.0, upto]).map_err(sql)?;
    let (mut last_seq, mut last_hash) = after;
    let mut count = 0i64;
    let mut problem = None;
    let mut pin_ok = pin.map(|_| false);
    // Integer columns are hashed as their decimal text, written into these buffers.
    let mut ints = [[0u8; 24]; 5];
    let mut last_digest = unhex(last_hash.as_bytes());
    while let Some(r) = rows.next().map_err(sql)? {
        use rusqlite::types::ValueRef;
        if count % 4096 == 4095 {
            checked.fetch_add(4096, std::sync::atomic::Ordering::Relaxed);
        }
        let bytes = |i: usize| -> Result<Option<&[u8]>, JournalError> {
            match r.get_ref(i).map_err(sql)? {
                ValueRef::Null => Ok(None),
                ValueRef::Text(t) => Ok(Some(t)),
                other => Err(sql(rusqlite::Error::InvalidColumnType(
                    i,
                    format!("{other:?}"),
                    other.data_type(),
                ))),
            }
        };
        let seq: i64 = r.get(0).map_err(sql)?;
        let mut int_vals = [None; 5];
        for (k, col) in [4usize, 8, 10, 11, 14].into_iter().enumerate() {
            int_vals[k] = r.get::<_, Option<i64>>(col).map_err(sql)?;
        }
        let [b0, b1, b2, b3, b4] = &mut ints;
        let ints_text: [Option<&[u8]>; 5] = [
            int_vals[0].map(|v| decimal(v, b0)),
            int_vals[1].map(|v| decimal(v, b1)),
            int_vals[2].map(|v| decimal(v, b2)),
            int_vals[3].map(|v| decimal(v, b3)),
            int_vals[4].map(|v| decimal(v, b4)),
        ];
        let (recorded_at, kind) = (bytes(1)?.unwrap_or(b""), bytes(2)?.unwrap_or(b""));
        let fields: [Option<&[u8]>; 12] = [
            bytes(3)?,
            ints_text[0],
            bytes(5)?,
            bytes(6)?,
            bytes(7)?,
            ints_text[1],
            bytes(9)?,
            ints_text[2],
            ints_text[3],
            bytes(12)?,
            bytes(13)?,
            ints_text[4],
        ];
        let (body, prev, hash) = (
            bytes(15)?.unwrap_or(b""),
            bytes(16)?.unwrap_or(b""),
            bytes(17)?.unwrap_or(b""),
        );
        count += 1;
        let digest = unhex(hash);
        if problem.is_none() {
            let intact = digest.is_some()
                && digest == Some(chain_digest(prev, seq, recorded_at, kind, &fields, body));
            let linked = unhex(prev) == last_digest && seq == last_seq + 1;
            if !(intact && linked) {
                let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
                let num = |b: Option<&[u8]>| text(b).and_then(|v| v.parse().ok());
                let c = Columns {
                    occurrence: text(fields[0]),
                    scheduled_at: num(fields[1]),
                    plan: text(fields[2]),
                    slot: text(fields[3]),
                    topic: text(fields[4]),
                    manual: num(fields[5]),
                    outcome: text(fields[6]),
                    played_ms: num(fields[7]),
                    duration_ms: num(fields[8]),
                    clip: text(fields[9]),
                    sha256: text(fields[10]),
                    dead_air: num(fields[11]),
                };
                let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                problem = check_link(
                    conn,
                    path,
                    seq,
                    last_seq,
                    &last_hash,
                    &s(recorded_at),
                    &s(kind),
                    &c,
                    &s(body),
                    &s(prev),
                    &s(hash),
                )?;
            }
        }
        let hash = std::str::from_utf8(hash).unwrap_or("");
        if let Some((n, h)) = pin {
            if seq == n {
                pin_ok = Some(hash == h);
            }
        }
        last_seq = seq;
        last_digest = digest;
        last_hash.clear();
        last_hash.push_str(hash);
    }
    Ok(Verification {
        events: count,
        head: last_hash,
        problem,
        pin_matches: pin_ok,
    })
}

/// Decides whether one row continues the chain, and if not, what was done to it.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_link(
    conn: &Connection,
    path: &Path,
    seq: i64,
    last_seq: i64,
    last_hash: &str,
    recorded_at: &str,
    kind: &str,
    c: &Columns,
    body: &str,
    prev: &str,
    hash: &str,
) -> Result<Option<Problem>, JournalError> {
    let seq_of_hash = |h: &str| {
        conn.query_row("SELECT seq FROM events WHERE hash = ?1", [h], |r| {
            r.get::<_, i64>(0)
        })
        .optional()
        .map_err(|source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        })
    };
    let at = |n: i64| chain_hash(prev, n, recorded_at, kind, c, body) == hash;
    if !at(seq) {
        // The content still matches its hash under another number: it was moved.
        if at(seq - 1) {
            return Ok(Some(Problem::Inserted { seq: seq - 1 }));
        }
        if at(seq + 1) {
            return Ok(Some(Problem::Removed {
                after: seq - 1,
                before: seq,
            }));
        }
        if let Some(origin) = seq_of_hash(prev)? {
            if at(origin + 1) {
                return Ok(Some(Problem::Reordered { seq }));
            }
        }
        return Ok(Some(Problem::Altered { seq }));
    }
    if prev == last_hash {
        return Ok(None);
    }
    if seq > last_seq + 1 {
        return Ok(Some(Problem::Removed {
            after: last_seq,
            before: seq,
        }));
    }
    Ok(Some(match seq_of_hash(prev)? {
        // Its true predecessor is elsewhere in the journal.
        Some(_) => Problem::Reordered { seq },
        // Its true predecessor is gone and the row before it is not part of the chain.
        None => Problem::Inserted { seq: last_seq },
    }))
}
