//! The journal's SQLite schema: numbered migrations (the event log with triggers that refuse
//! UPDATE and DELETE, the clip cache's tables) and the columns one event row is read by.

pub(super) const SCHEMA: &[&str] = &[
    // 1: the event log. Every column but `hash` is covered by the hash chain.
    "CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        kind TEXT NOT NULL,
        occurrence TEXT,
        scheduled_at INTEGER,
        plan TEXT,
        slot TEXT,
        topic TEXT,
        manual INTEGER,
        outcome TEXT,
        played_ms INTEGER,
        duration_ms INTEGER,
        clip TEXT,
        sha256 TEXT,
        dead_air INTEGER,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
     );
     CREATE INDEX events_by_occurrence ON events(occurrence);
     CREATE INDEX events_by_schedule ON events(scheduled_at, kind);
     CREATE INDEX events_by_clip ON events(clip) WHERE clip IS NOT NULL;
     -- Covering indexes for reports: a period's outcomes and clip figures without touching bodies.
     CREATE INDEX events_outcomes ON events(kind, scheduled_at, manual, plan, slot, topic, outcome);
     CREATE INDEX events_clips ON events(kind, scheduled_at, occurrence, topic, clip, sha256, outcome, played_ms, dead_air);
     CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the loaxa journal is append-only'); END;
     CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the loaxa journal is append-only'); END;",
    // 2: the ingest cache: what was measured of each clip, by content hash, and which file
    // version (path, size, mtime) had which content. Not evidence, so not chained; it only
    // spares a restart from decoding an unchanged library again.
    "CREATE TABLE clip_facts (
        sha256 TEXT PRIMARY KEY,
        duration_ms INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        sample_rate INTEGER NOT NULL,
        loudness_tenths INTEGER,
        peak_tenths INTEGER NOT NULL,
        lead_silence_ms INTEGER NOT NULL,
        trail_silence_ms INTEGER NOT NULL
     );
     CREATE TABLE clip_files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER,
        sha256 TEXT,
        error TEXT
     );",
];

/// The columns of an event row in storage order, for INSERT and verification.
pub(super) const ROW: &str = "seq, recorded_at, kind, occurrence, scheduled_at, plan, slot, topic, manual, outcome, played_ms, duration_ms, clip, sha256, dead_air, body, prev_hash, hash";
