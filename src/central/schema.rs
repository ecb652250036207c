//! The central database's schema as numbered migrations, applied in order by
//! `loaxa central init` and recorded in `loaxa.migrations`. A migration is never edited
//! once released; a change is a new one at the end.
//!
//! Stations never write a table: their login roles (members of `loaxa_station`) may only
//! call `loaxa.ingest` and `loaxa.head`, which run as the schema's owner and check that a
//! batch comes from the station's own login and continues the chain held for it. Rollups
//! are kept by `ingest` in the same transaction, so reports never scan raw events.

/// Each migration's SQL, version = index + 1.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: stations, their events, evidence of forks and refusals, rollups, the two doors.
    r#"
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'loaxa_station') THEN
        CREATE ROLE loaxa_station NOLOGIN;
    END IF;
END $$;

REVOKE ALL ON SCHEMA loaxa FROM PUBLIC;
GRANT USAGE ON SCHEMA loaxa TO loaxa_station;

CREATE TABLE loaxa.settings (
    key text PRIMARY KEY,
    value text NOT NULL
);
-- Months in reports are the province's calendar months.
INSERT INTO loaxa.settings VALUES ('timezone', 'Asia/Ho_Chi_Minh');

CREATE TABLE loaxa.stations (
    id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    login name NOT NULL UNIQUE,
    name text,
    added_at timestamptz NOT NULL DEFAULT now(),
    head_seq bigint NOT NULL DEFAULT 0,
    head_hash text NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
    -- The centre's clock: when the station was last heard from, and last sent something new.
    contact_at timestamptz,
    received_at timestamptz,
    -- The station's own clock, from its newest event.
    recorded_at text,
    flagged_at timestamptz,
    flag text
);

-- Each station's events exactly as chained at the station (columns as text, see
-- journal::RawEvent), so `central verify` recomputes every hash.
CREATE TABLE loaxa.events (
    station text NOT NULL REFERENCES loaxa.stations (id),
    seq bigint NOT NULL,
    recorded_at text NOT NULL,
    kind text NOT NULL,
    columns text[] NOT NULL,
    body text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq)
);

-- Every schedule version a station's journal holds, so what was owed can be recomputed.
CREATE TABLE loaxa.schedules (
    station text NOT NULL REFERENCES loaxa.stations (id),
    sha256 text NOT NULL,
    file text NOT NULL,
    content text NOT NULL,
    first_seq bigint NOT NULL,
    PRIMARY KEY (station, sha256)
);

-- A batch that contradicted history already held: kept whole, as evidence.
CREATE TABLE loaxa.forks (
    id bigserial PRIMARY KEY,
    station text NOT NULL REFERENCES loaxa.stations (id),
    at_seq bigint NOT NULL,
    held_hash text NOT NULL,
    sent_hash text NOT NULL,
    sent jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Every refused call, named.
CREATE TABLE loaxa.refusals (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    login name NOT NULL,
    station text,
    reason text NOT NULL
);

-- Planned (non-manual) occurrences by month of their scheduled time, counted as the
-- station's report counts them: started, ended by outcome, missed.
CREATE TABLE loaxa.rollup (
    station text NOT NULL REFERENCES loaxa.stations (id),
    month date NOT NULL,
    plan text NOT NULL,
    slot text NOT NULL,
    topic text NOT NULL,
    kind text NOT NULL,
    outcome text NOT NULL,
    reason text NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (month, station, plan, slot, topic, kind, outcome, reason)
);

CREATE FUNCTION loaxa.head(p_station text)
RETURNS TABLE (acked_seq bigint, acked_hash text, flag text, refused text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why text;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    IF NOT FOUND OR st.login <> session_user THEN
        -- Answered, not raised: the refusal must stay recorded.
        why := format('the login %s may not act for station %s', session_user, p_station);
        INSERT INTO loaxa.refusals (login, station, reason) VALUES (session_user, p_station, why);
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::text, why;
        RETURN;
    END IF;
    UPDATE loaxa.stations s SET contact_at = now() WHERE s.id = p_station;
    RETURN QUERY SELECT st.head_seq, st.head_hash, st.flag, NULL::text;
END
$fn$;

CREATE FUNCTION loaxa.ingest(p_station text, p_events jsonb)
RETURNS TABLE (acked_seq bigint, acked_hash text, refused text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    tz text;
    n bigint;
    b_first bigint;
    b_last bigint;
    broken bigint;
    f_seq bigint;
    f_held text;
    f_sent text;
    why text;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station FOR UPDATE;
    IF NOT FOUND OR st.login <> session_user THEN
        why := format('the login %s may not send for station %s', session_user, p_station);
        INSERT INTO loaxa.refusals (login, station, reason) VALUES (session_user, p_station, why);
        RETURN QUERY SELECT NULL::bigint, NULL::text, why;
        RETURN;
    END IF;
    UPDATE loaxa.stations s SET contact_at = now() WHERE s.id = p_station;

    DROP TABLE IF EXISTS pg_temp.batch;
    CREATE TEMP TABLE batch ON COMMIT DROP AS
        SELECT x.* FROM jsonb_to_recordset(p_events) AS x (
            seq bigint, recorded_at text, kind text, columns text[], body text,
            prev_hash text, hash text);
    SELECT count(*), min(b.seq), max(b.seq) INTO n, b_first, b_last FROM batch b;
    IF n = 0 THEN
        RETURN QUERY SELECT st.head_seq, st.head_hash, NULL::text;
        RETURN;
    END IF;

    -- The batch must be one continuous piece of chain.
    SELECT count(*) INTO broken FROM (
        SELECT b.seq, b.prev_hash, b.recorded_at, b.kind, b.body, b.hash, b.columns,
               lag(b.seq) OVER w AS p_seq, lag(b.hash) OVER w AS p_hash
        FROM batch b WINDOW w AS (ORDER BY b.seq)) q
    WHERE (q.p_seq IS NOT NULL AND (q.seq <> q.p_seq + 1 OR q.prev_hash <> q.p_hash))
       OR q.recorded_at IS NULL OR q.kind IS NULL OR q.body IS NULL OR q.hash IS NULL
       OR q.columns IS NULL OR array_length(q.columns, 1) <> 12;
    IF broken > 0 OR b_last - b_first + 1 <> n OR b_first < 1 THEN
        why := 'the batch is not one continuous, complete piece of chain';
        INSERT INTO loaxa.refusals (login, station, reason) VALUES (session_user, p_station, why);
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;

    -- What overlaps history already held must be that history; the first new event
    -- must continue it.
    SELECT b.seq, e.hash, b.hash INTO f_seq, f_held, f_sent
        FROM batch b JOIN loaxa.events e ON e.station = p_station AND e.seq = b.seq
        WHERE e.hash <> b.hash ORDER BY b.seq LIMIT 1;
    IF f_seq IS NULL AND b_first <= st.head_seq + 1 AND b_last > st.head_seq THEN
        SELECT b.seq, b.prev_hash INTO f_seq, f_sent FROM batch b
            WHERE b.seq = st.head_seq + 1 AND b.prev_hash <> st.head_hash;
        f_held := st.head_hash;
    END IF;
    IF f_seq IS NOT NULL THEN
        INSERT INTO loaxa.forks (station, at_seq, held_hash, sent_hash, sent)
            SELECT p_station, f_seq, f_held, f_sent, p_events
            WHERE NOT EXISTS (SELECT 1 FROM loaxa.forks k
                WHERE k.station = p_station AND k.at_seq = f_seq AND k.sent_hash = f_sent);
        UPDATE loaxa.stations s
            SET flagged_at = coalesce(s.flagged_at, now()),
                flag = coalesce(s.flag, format('history rewritten at event %s', f_seq))
            WHERE s.id = p_station;
        why := format('event %s differs from what the province holds (held %s…, sent %s…): history already received cannot be changed; the batch is kept as evidence',
            f_seq, left(f_held, 12), left(f_sent, 12));
        INSERT INTO loaxa.refusals (login, station, reason) VALUES (session_user, p_station, why);
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;
    IF b_first > st.head_seq + 1 THEN
        why := format('the batch starts at event %s but the province holds events up to %s',
            b_first, st.head_seq);
        INSERT INTO loaxa.refusals (login, station, reason) VALUES (session_user, p_station, why);
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;
    IF b_last <= st.head_seq THEN
        -- All of it is held already (a batch sent again after a lost answer).
        RETURN QUERY SELECT st.head_seq, st.head_hash, NULL::text;
        RETURN;
    END IF;

    INSERT INTO loaxa.events (station, seq, recorded_at, kind, columns, body, prev_hash, hash)
        SELECT p_station, b.seq, b.recorded_at, b.kind, b.columns, b.body, b.prev_hash, b.hash
        FROM batch b WHERE b.seq > st.head_seq ORDER BY b.seq;

    SELECT s.value INTO tz FROM loaxa.settings s WHERE s.key = 'timezone';
    INSERT INTO loaxa.rollup AS r (station, month, plan, slot, topic, kind, outcome, reason, n)
        SELECT p_station,
               date_trunc('month', to_timestamp(b.columns[2]::bigint / 1000.0) AT TIME ZONE tz)::date,
               coalesce(b.columns[3], ''), coalesce(b.columns[4], ''), coalesce(b.columns[5], ''),
               b.kind, coalesce(b.columns[7], ''),
               CASE WHEN b.kind = 'broadcast_started' THEN ''
                    ELSE coalesce(b.body::jsonb #>> '{reason,code}', '') END,
               count(*)
        FROM batch b
        WHERE b.seq > st.head_seq
          AND b.kind IN ('broadcast_started', 'broadcast_ended', 'occurrence_missed')
          AND b.columns[6] = '0' AND b.columns[2] IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (month, station, plan, slot, topic, kind, outcome, reason)
        DO UPDATE SET n = r.n + EXCLUDED.n;

    INSERT INTO loaxa.schedules (station, sha256, file, content, first_seq)
        SELECT p_station, j.body->>'sha256', j.body->>'file', j.body->>'content', j.seq
        FROM (SELECT b.seq, b.body::jsonb AS body FROM batch b
              WHERE b.seq > st.head_seq AND b.kind = 'schedule_loaded') j
    ON CONFLICT DO NOTHING;

    UPDATE loaxa.stations s
        SET head_seq = b.seq, head_hash = b.hash, received_at = now(), recorded_at = b.recorded_at
        FROM batch b WHERE s.id = p_station AND b.seq = b_last;
    RETURN QUERY SELECT s.head_seq, s.head_hash, NULL::text FROM loaxa.stations s
        WHERE s.id = p_station;
END
$fn$;

REVOKE ALL ON ALL TABLES IN SCHEMA loaxa FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA loaxa FROM PUBLIC;
GRANT EXECUTE ON FUNCTION loaxa.head(text), loaxa.ingest(text, jsonb) TO loaxa_station;
"#,
];
