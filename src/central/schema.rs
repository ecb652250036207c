//! The central database's schema as numbered migrations, applied in order by
//! `loaxa central init` and recorded in `loaxa.migrations`. A migration is never edited
//! once released; a change is a new one at the end.
//!
//! Stations never write a table: their login roles (members of `loaxa_station`) may only
//! call the functions granted to `loaxa_station` (`head`, `contact`, `ingest`, `hash_at`,
//! `fork`), which run as the schema's owner and check that a call comes from the station's
//! own login and that a batch continues the chain held for it. Rollups
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
    // 2 (#23): a station reports its head at every contact and the centre checks it; a fork
    // is located at its first differing event and the station's whole divergent range kept
    // (the centre's own side too, when the station is re-admitted); verified checkpoints;
    // refusals as codes the station words in its operator's language; the overlap check
    // bounded to the overlap (unbounded, a first catch-up slowed as the centre filled).
    r#"
ALTER TABLE loaxa.stations
    ADD COLUMN reported_seq bigint,
    ADD COLUMN reported_hash text,
    ADD COLUMN reported_at timestamptz,
    ADD COLUMN fork_seq bigint,
    ADD COLUMN verified_seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN verified_hash text NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000',
    ADD COLUMN verified_at timestamptz;
-- Flags were sentences; now a code and the event the fork was found at, worded by the reader.
UPDATE loaxa.stations
    SET fork_seq = substring(flag from 'event ([0-9]+)')::bigint, flag = 'fork'
    WHERE flag IS NOT NULL;

-- A fork: where the station's history leaves the centre's copy. Found at a contact it is
-- first an upper bound (`located` false); the station then locates the first differing
-- event and sends its whole divergent range (fork_events, side 'station').
ALTER TABLE loaxa.forks
    ADD COLUMN located boolean NOT NULL DEFAULT true,
    ADD COLUMN held_seq bigint,
    ADD COLUMN station_seq bigint,
    ADD COLUMN readmitted_at timestamptz;
ALTER TABLE loaxa.forks ALTER COLUMN located SET DEFAULT false;
CREATE INDEX forks_station ON loaxa.forks (station, id);

CREATE TABLE loaxa.fork_events (
    fork bigint NOT NULL REFERENCES loaxa.forks (id),
    -- 'station': what the station sent from the fork point on; 'held': what the centre
    -- held from there, moved here when the station was re-admitted.
    side text NOT NULL CHECK (side IN ('station', 'held')),
    seq bigint NOT NULL,
    recorded_at text NOT NULL,
    kind text NOT NULL,
    columns text[] NOT NULL,
    body text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    PRIMARY KEY (fork, side, seq)
);

CREATE TABLE loaxa.readmissions (
    id bigserial PRIMARY KEY,
    station text NOT NULL REFERENCES loaxa.stations (id),
    fork bigint NOT NULL REFERENCES loaxa.forks (id),
    at_seq bigint NOT NULL,
    replaced bigint NOT NULL,
    accepted bigint NOT NULL,
    by_login name NOT NULL DEFAULT session_user,
    at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL CHECK (btrim(reason) <> '')
);

-- The hash the centre holds at `p_seq` (the genesis at 0, NULL beyond what it holds).
CREATE FUNCTION loaxa.held_hash(p_station text, p_seq bigint) RETURNS text
LANGUAGE sql STABLE SET search_path = loaxa, pg_temp
AS $fn$
    SELECT CASE WHEN p_seq = 0
        THEN '0000000000000000000000000000000000000000000000000000000000000000'
        ELSE (SELECT e.hash FROM loaxa.events e WHERE e.station = p_station AND e.seq = p_seq)
    END
$fn$;

-- Adds (p_sign 1) or takes away (-1) the rollups of a station's events from `p_from` on;
-- what ingest and re-admission both count with.
CREATE FUNCTION loaxa.tally(p_station text, p_from bigint, p_sign bigint) RETURNS void
LANGUAGE plpgsql SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    tz text;
BEGIN
    SELECT s.value INTO tz FROM loaxa.settings s WHERE s.key = 'timezone';
    INSERT INTO loaxa.rollup AS r (station, month, plan, slot, topic, kind, outcome, reason, n)
        SELECT p_station,
               date_trunc('month', to_timestamp(b.columns[2]::bigint / 1000.0) AT TIME ZONE tz)::date,
               coalesce(b.columns[3], ''), coalesce(b.columns[4], ''), coalesce(b.columns[5], ''),
               b.kind, coalesce(b.columns[7], ''),
               CASE WHEN b.kind = 'broadcast_started' THEN ''
                    ELSE coalesce(b.body::jsonb #>> '{reason,code}', '') END,
               p_sign * count(*)
        FROM loaxa.events b
        WHERE b.station = p_station AND b.seq >= p_from
          AND b.kind IN ('broadcast_started', 'broadcast_ended', 'occurrence_missed')
          AND b.columns[6] = '0' AND b.columns[2] IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (month, station, plan, slot, topic, kind, outcome, reason)
        DO UPDATE SET n = r.n + EXCLUDED.n;
    IF p_sign > 0 THEN
        INSERT INTO loaxa.schedules (station, sha256, file, content, first_seq)
            SELECT p_station, j.body->>'sha256', j.body->>'file', j.body->>'content', j.seq
            FROM (SELECT b.seq, b.body::jsonb AS body FROM loaxa.events b
                  WHERE b.station = p_station AND b.seq >= p_from
                    AND b.kind = 'schedule_loaded') j
        ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM loaxa.rollup r WHERE r.station = p_station AND r.n = 0;
    END IF;
END
$fn$;

-- Records a refusal and gives it back.
CREATE FUNCTION loaxa.refuse(p_station text, p_why jsonb) RETURNS jsonb
LANGUAGE sql SET search_path = loaxa, pg_temp
AS $fn$
    INSERT INTO loaxa.refusals (login, station, reason) VALUES (session_user, p_station, p_why::text);
    SELECT p_why;
$fn$;

-- The station's history differs from the centre's copy at or before `p_bound`: flag it,
-- open a fork (unless one is open) with what came as evidence, and tell the station to
-- locate the first differing event.
CREATE FUNCTION loaxa.diverged(p_station text, p_bound bigint, p_sent_hash text,
                               p_station_seq bigint, p_batch jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    IF NOT EXISTS (SELECT 1 FROM loaxa.forks f
                   WHERE f.station = p_station AND f.readmitted_at IS NULL) THEN
        INSERT INTO loaxa.forks (station, at_seq, held_hash, sent_hash, sent, located,
                                 held_seq, station_seq)
            VALUES (p_station, p_bound, coalesce(loaxa.held_hash(p_station, p_bound), ''),
                    coalesce(p_sent_hash, ''), p_batch, false, st.head_seq, p_station_seq);
    END IF;
    UPDATE loaxa.stations s
        SET flagged_at = coalesce(s.flagged_at, now()), flag = 'fork',
            fork_seq = least(coalesce(s.fork_seq, p_bound), p_bound)
        WHERE s.id = p_station;
    RETURN loaxa.refuse(p_station, jsonb_build_object('code', 'diverged', 'at', p_bound));
END
$fn$;

-- A station's own login, or a refusal.
CREATE FUNCTION loaxa.own(p_station text, st loaxa.stations) RETURNS jsonb
LANGUAGE plpgsql SET search_path = loaxa, pg_temp
AS $fn$
BEGIN
    IF st.id IS NULL OR st.login <> session_user THEN
        RETURN loaxa.refuse(p_station, jsonb_build_object('code', 'not_yours',
            'login', session_user::text, 'station', p_station));
    END IF;
    RETURN NULL;
END
$fn$;

-- Every contact: the station reports its head (p_seq, p_hash) and its hash at `p_at`
-- (the lesser of its head and the centre's); the centre checks both against its copy.
CREATE FUNCTION loaxa.contact(p_station text, p_seq bigint, p_hash text,
                              p_at bigint, p_at_hash text)
RETURNS TABLE (acked_seq bigint, acked_hash text, refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
    held text;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station FOR UPDATE;
    why := loaxa.own(p_station, st);
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, why;
        RETURN;
    END IF;
    UPDATE loaxa.stations s
        SET contact_at = now(), reported_seq = p_seq, reported_hash = p_hash, reported_at = now()
        WHERE s.id = p_station;
    IF st.flag IS NOT NULL THEN
        why := loaxa.refuse(p_station, jsonb_build_object('code', 'flagged', 'at', st.fork_seq));
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;
    IF p_at IS NULL OR p_at <> least(p_seq, st.head_seq) OR p_seq < 0 THEN
        why := loaxa.refuse(p_station, jsonb_build_object('code', 'bad_probe',
            'at', p_at, 'held', st.head_seq));
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;
    held := loaxa.held_hash(p_station, p_at);
    IF held IS DISTINCT FROM p_at_hash THEN
        why := loaxa.diverged(p_station, p_at, p_at_hash, p_seq, '[]'::jsonb);
    ELSIF p_seq < st.head_seq THEN
        -- The station lacks events the centre holds: truncated (or replaced by a shorter one).
        why := loaxa.diverged(p_station, p_seq + 1, NULL, p_seq, '[]'::jsonb);
    END IF;
    RETURN QUERY SELECT st.head_seq, st.head_hash, why;
END
$fn$;

-- For locating a fork: the hash the centre holds at `p_seq`, to the station's own login.
CREATE FUNCTION loaxa.hash_at(p_station text, p_seq bigint)
RETURNS TABLE (hash text, refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    why := loaxa.own(p_station, st);
    RETURN QUERY SELECT CASE WHEN why IS NULL THEN loaxa.held_hash(p_station, p_seq) END, why;
END
$fn$;

-- The station names the first event where its history leaves the centre's copy
-- (`p_at`: its hash there `p_at_hash`, NULL if it has no such event; both agree on
-- `p_prev_hash` at p_at - 1) and sends its events from there on, in pieces. The centre
-- checks the claim, keeps the events, flags the station and refuses it, saying how far it
-- has kept the station's side.
CREATE FUNCTION loaxa.fork(p_station text, p_at bigint, p_prev_hash text, p_at_hash text,
                           p_station_seq bigint, p_events jsonb)
RETURNS TABLE (refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
    held_at text;
    f loaxa.forks%ROWTYPE;
    n bigint;
    b_first bigint;
    b_last bigint;
    broken bigint;
    first_prev text;
    first_hash text;
    kept bigint;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station FOR UPDATE;
    why := loaxa.own(p_station, st);
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT why;
        RETURN;
    END IF;
    held_at := loaxa.held_hash(p_station, p_at);
    IF p_at IS NULL OR p_at < 1 OR p_at > st.head_seq
       OR loaxa.held_hash(p_station, p_at - 1) IS DISTINCT FROM p_prev_hash
       OR held_at IS NOT DISTINCT FROM p_at_hash
       OR (p_at_hash IS NULL AND p_station_seq <> p_at - 1) THEN
        RETURN QUERY SELECT loaxa.refuse(p_station, jsonb_build_object('code', 'bad_evidence',
            'at', p_at));
        RETURN;
    END IF;

    SELECT * INTO f FROM loaxa.forks k WHERE k.station = p_station AND k.readmitted_at IS NULL
        ORDER BY k.id DESC LIMIT 1;
    IF f.id IS NULL OR (f.located AND (f.at_seq <> p_at OR f.sent_hash <> coalesce(p_at_hash, ''))) THEN
        -- A first fork, or a different one from the fork already kept: its own evidence.
        INSERT INTO loaxa.forks (station, at_seq, held_hash, sent_hash, sent, located, held_seq,
                                 station_seq)
            VALUES (p_station, p_at, held_at, coalesce(p_at_hash, ''), '[]'::jsonb, true,
                    st.head_seq, p_station_seq)
            RETURNING * INTO f;
    ELSIF NOT f.located THEN
        UPDATE loaxa.forks k SET at_seq = p_at, held_hash = held_at,
                sent_hash = coalesce(p_at_hash, ''), located = true, held_seq = st.head_seq
            WHERE k.id = f.id RETURNING * INTO f;
    END IF;
    UPDATE loaxa.forks k SET station_seq = greatest(k.station_seq, p_station_seq)
        WHERE k.id = f.id;

    DROP TABLE IF EXISTS pg_temp.batch;
    CREATE TEMP TABLE batch ON COMMIT DROP AS
        SELECT x.* FROM jsonb_to_recordset(coalesce(p_events, '[]'::jsonb)) AS x (
            seq bigint, recorded_at text, kind text, columns text[], body text,
            prev_hash text, hash text);
    SELECT count(*), min(b.seq), max(b.seq) INTO n, b_first, b_last FROM batch b;
    IF n > 0 THEN
        SELECT count(*) INTO broken FROM (
            SELECT b.seq, b.prev_hash, b.recorded_at, b.kind, b.body, b.hash, b.columns,
                   lag(b.seq) OVER w AS p_seq, lag(b.hash) OVER w AS p_hash
            FROM batch b WINDOW w AS (ORDER BY b.seq)) q
        WHERE (q.p_seq IS NOT NULL AND (q.seq <> q.p_seq + 1 OR q.prev_hash <> q.p_hash))
           OR q.recorded_at IS NULL OR q.kind IS NULL OR q.body IS NULL OR q.hash IS NULL
           OR q.columns IS NULL OR array_length(q.columns, 1) <> 12;
        SELECT b.prev_hash, b.hash INTO first_prev, first_hash FROM batch b WHERE b.seq = b_first;
        IF broken > 0 OR b_last - b_first + 1 <> n OR b_first < p_at
           OR (b_first = p_at AND (first_prev <> p_prev_hash OR first_hash <> p_at_hash))
           OR (b_first > p_at AND first_prev IS DISTINCT FROM (SELECT e.hash FROM loaxa.fork_events e
                WHERE e.fork = f.id AND e.side = 'station' AND e.seq = b_first - 1)) THEN
            RETURN QUERY SELECT loaxa.refuse(p_station, jsonb_build_object('code', 'bad_evidence',
                'at', p_at));
            RETURN;
        END IF;
        INSERT INTO loaxa.fork_events (fork, side, seq, recorded_at, kind, columns, body,
                                       prev_hash, hash)
            SELECT f.id, 'station', b.seq, b.recorded_at, b.kind, b.columns, b.body,
                   b.prev_hash, b.hash
            FROM batch b ORDER BY b.seq
        ON CONFLICT DO NOTHING;
    END IF;

    UPDATE loaxa.stations s
        SET flagged_at = coalesce(s.flagged_at, now()), flag = 'fork', fork_seq = p_at
        WHERE s.id = p_station;
    SELECT coalesce(max(e.seq), p_at - 1) INTO kept FROM loaxa.fork_events e
        WHERE e.fork = f.id AND e.side = 'station';
    RETURN QUERY SELECT loaxa.refuse(p_station, jsonb_build_object('code', 'fork', 'at', p_at,
        'held', left(held_at, 12), 'sent', left(p_at_hash, 12), 'held_seq', st.head_seq,
        'kept_to', kept));
END
$fn$;

DROP FUNCTION loaxa.ingest(text, jsonb);
CREATE FUNCTION loaxa.ingest(p_station text, p_events jsonb)
RETURNS TABLE (acked_seq bigint, acked_hash text, refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    n bigint;
    b_first bigint;
    b_last bigint;
    broken bigint;
    f_seq bigint;
    f_sent text;
    why jsonb;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station FOR UPDATE;
    why := loaxa.own(p_station, st);
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, why;
        RETURN;
    END IF;
    UPDATE loaxa.stations s SET contact_at = now() WHERE s.id = p_station;
    IF st.flag IS NOT NULL THEN
        why := loaxa.refuse(p_station, jsonb_build_object('code', 'flagged', 'at', st.fork_seq));
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;

    DROP TABLE IF EXISTS pg_temp.batch;
    CREATE TEMP TABLE batch ON COMMIT DROP AS
        SELECT x.* FROM jsonb_to_recordset(p_events) AS x (
            seq bigint, recorded_at text, kind text, columns text[], body text,
            prev_hash text, hash text);
    SELECT count(*), min(b.seq), max(b.seq) INTO n, b_first, b_last FROM batch b;
    IF n = 0 THEN
        RETURN QUERY SELECT st.head_seq, st.head_hash, NULL::jsonb;
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
        why := loaxa.refuse(p_station, jsonb_build_object('code', 'not_continuous'));
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;
    IF b_first > st.head_seq + 1 THEN
        why := loaxa.refuse(p_station, jsonb_build_object('code', 'gap', 'first', b_first,
            'held', st.head_seq));
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;

    -- What overlaps history already held must be that history, and the first new event
    -- must continue it. Only the overlap is looked at: a batch that starts after the
    -- head (the usual case) costs nothing here however much the centre holds.
    IF b_first <= st.head_seq THEN
        SELECT b.seq, b.hash INTO f_seq, f_sent
            FROM batch b JOIN loaxa.events e ON e.station = p_station AND e.seq = b.seq
            WHERE e.seq BETWEEN b_first AND least(b_last, st.head_seq) AND e.hash <> b.hash
            ORDER BY b.seq LIMIT 1;
    END IF;
    IF f_seq IS NULL AND b_last > st.head_seq THEN
        SELECT st.head_seq, b.prev_hash INTO f_seq, f_sent FROM batch b
            WHERE b.seq = st.head_seq + 1 AND b.prev_hash <> st.head_hash;
        f_sent := NULL;
    END IF;
    IF f_seq IS NOT NULL THEN
        why := loaxa.diverged(p_station, f_seq, f_sent, b_last, p_events);
        RETURN QUERY SELECT st.head_seq, st.head_hash, why;
        RETURN;
    END IF;
    IF b_last <= st.head_seq THEN
        -- All of it is held already (a batch sent again after a lost answer).
        RETURN QUERY SELECT st.head_seq, st.head_hash, NULL::jsonb;
        RETURN;
    END IF;

    INSERT INTO loaxa.events (station, seq, recorded_at, kind, columns, body, prev_hash, hash)
        SELECT p_station, b.seq, b.recorded_at, b.kind, b.columns, b.body, b.prev_hash, b.hash
        FROM batch b WHERE b.seq > st.head_seq ORDER BY b.seq;
    PERFORM loaxa.tally(p_station, st.head_seq + 1, 1);

    UPDATE loaxa.stations s
        SET head_seq = b.seq, head_hash = b.hash, received_at = now(), recorded_at = b.recorded_at
        FROM batch b WHERE s.id = p_station AND b.seq = b_last;
    RETURN QUERY SELECT s.head_seq, s.head_hash, NULL::jsonb FROM loaxa.stations s
        WHERE s.id = p_station;
END
$fn$;

DROP FUNCTION loaxa.head(text);
CREATE FUNCTION loaxa.head(p_station text)
RETURNS TABLE (acked_seq bigint, acked_hash text, refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    why := loaxa.own(p_station, st);
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, why;
        RETURN;
    END IF;
    UPDATE loaxa.stations s SET contact_at = now() WHERE s.id = p_station;
    RETURN QUERY SELECT st.head_seq, st.head_hash, NULL::jsonb;
END
$fn$;

-- Re-admits a flagged station (the province's administrator, never a station): the
-- centre's events from the located fork point on move to the fork's evidence (side
-- 'held'), the station's divergent range becomes its chain from there, the rollups are
-- counted again, and who, when and why is recorded. Evidence is never deleted.
CREATE FUNCTION loaxa.readmit(p_station text, p_reason text)
RETURNS TABLE (at_seq bigint, replaced bigint, accepted bigint, head_seq bigint)
LANGUAGE plpgsql SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    f loaxa.forks%ROWTYPE;
    k bigint;
    moved bigint;
    taken bigint;
    h_seq bigint;
    h_hash text;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station FOR UPDATE;
    IF st.id IS NULL THEN
        RAISE EXCEPTION 'loaxa: no station %', p_station USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO f FROM loaxa.forks x WHERE x.station = p_station AND x.readmitted_at IS NULL
        ORDER BY x.id DESC LIMIT 1;
    IF st.flag IS NULL OR f.id IS NULL OR NOT f.located THEN
        RAISE EXCEPTION 'loaxa: station % has no located fork to re-admit from', p_station
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    k := f.at_seq;
    PERFORM loaxa.tally(p_station, k, -1);
    INSERT INTO loaxa.fork_events (fork, side, seq, recorded_at, kind, columns, body, prev_hash, hash)
        SELECT f.id, 'held', e.seq, e.recorded_at, e.kind, e.columns, e.body, e.prev_hash, e.hash
        FROM loaxa.events e WHERE e.station = p_station AND e.seq >= k
    ON CONFLICT DO NOTHING;
    DELETE FROM loaxa.events e WHERE e.station = p_station AND e.seq >= k;
    GET DIAGNOSTICS moved = ROW_COUNT;
    INSERT INTO loaxa.events (station, seq, recorded_at, kind, columns, body, prev_hash, hash)
        SELECT p_station, e.seq, e.recorded_at, e.kind, e.columns, e.body, e.prev_hash, e.hash
        FROM loaxa.fork_events e WHERE e.fork = f.id AND e.side = 'station' ORDER BY e.seq;
    GET DIAGNOSTICS taken = ROW_COUNT;
    PERFORM loaxa.tally(p_station, k, 1);
    SELECT e.seq, e.hash, e.recorded_at INTO h_seq, h_hash FROM loaxa.events e
        WHERE e.station = p_station ORDER BY e.seq DESC LIMIT 1;
    UPDATE loaxa.stations s
        SET head_seq = coalesce(h_seq, 0), head_hash = coalesce(h_hash, loaxa.held_hash(p_station, 0)),
            flag = NULL, flagged_at = NULL, fork_seq = NULL,
            verified_seq = least(s.verified_seq, k - 1),
            verified_hash = CASE WHEN s.verified_seq >= k THEN loaxa.held_hash(p_station, k - 1)
                                 ELSE s.verified_hash END
        WHERE s.id = p_station;
    UPDATE loaxa.forks x SET readmitted_at = now()
        WHERE x.station = p_station AND x.readmitted_at IS NULL;
    INSERT INTO loaxa.readmissions (station, fork, at_seq, replaced, accepted, reason)
        VALUES (p_station, f.id, k, moved, taken, p_reason);
    RETURN QUERY SELECT k, moved, taken, coalesce(h_seq, 0);
END
$fn$;

REVOKE ALL ON ALL TABLES IN SCHEMA loaxa FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA loaxa FROM PUBLIC;
GRANT EXECUTE ON FUNCTION loaxa.head(text), loaxa.ingest(text, jsonb),
    loaxa.contact(text, bigint, text, bigint, text), loaxa.hash_at(text, bigint),
    loaxa.fork(text, bigint, text, text, bigint, jsonb) TO loaxa_station;
"#,
    // 3 (#24): bulletins the province sends down — their clips stored once by SHA-256, to
    // whom (stations, groups, all), their window, their withdrawal — the functions through
    // which a station sees only its own, and what each station journaled of each.
    r#"
CREATE TABLE loaxa.groups (
    name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    station text NOT NULL REFERENCES loaxa.stations (id),
    added_at timestamptz NOT NULL DEFAULT now(),
    added_by name NOT NULL DEFAULT session_user,
    PRIMARY KEY (name, station)
);

CREATE TABLE loaxa.clips (
    sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes bytea NOT NULL,
    file_name text NOT NULL,
    duration_ms bigint NOT NULL,
    loudness_lufs double precision,
    peak_dbfs double precision NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE loaxa.bulletins (
    id bigserial PRIMARY KEY,
    title text NOT NULL CHECK (btrim(title) <> ''),
    level text NOT NULL CHECK (level IN ('normal', 'priority', 'emergency')),
    clip text NOT NULL REFERENCES loaxa.clips (sha256),
    valid_from timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    -- Times of day (HH:MM, the province's zone) it airs at; none: the level's own rule.
    at_times text[] NOT NULL DEFAULT '{}',
    repeat integer NOT NULL DEFAULT 1 CHECK (repeat BETWEEN 1 AND 10),
    -- To whom, as the publisher wrote it (all, groups, station ids).
    addressed text[] NOT NULL,
    published_by name NOT NULL DEFAULT session_user,
    published_at timestamptz NOT NULL DEFAULT now(),
    withdrawn_at timestamptz,
    withdrawn_by name,
    withdraw_reason text,
    CHECK (valid_until > valid_from),
    CHECK ((withdrawn_at IS NULL) = (withdraw_reason IS NULL))
);

CREATE TABLE loaxa.bulletin_targets (
    bulletin bigint NOT NULL REFERENCES loaxa.bulletins (id),
    station text NOT NULL REFERENCES loaxa.stations (id),
    PRIMARY KEY (bulletin, station)
);
CREATE INDEX bulletin_targets_station ON loaxa.bulletin_targets (station, bulletin);

-- What a station journaled of a bulletin (received, refused, expired, withdrawn, aired),
-- kept by ingest from its events, in the station's own words and clock.
CREATE TABLE loaxa.deliveries (
    station text NOT NULL REFERENCES loaxa.stations (id),
    seq bigint NOT NULL,
    bulletin bigint NOT NULL REFERENCES loaxa.bulletins (id),
    what text NOT NULL,
    recorded_at text NOT NULL,
    body jsonb NOT NULL,
    PRIMARY KEY (station, seq, bulletin)
);
CREATE INDEX deliveries_bulletin ON loaxa.deliveries (bulletin, station);

-- The bulletins addressed to a station, to its own login: everything not yet over (a
-- withdrawn one too, so the withdrawal reaches it), oldest first.
CREATE FUNCTION loaxa.bulletins_for(p_station text)
RETURNS TABLE (id bigint, title text, level text, sha256 text, file_name text, size bigint,
               valid_from timestamptz, valid_until timestamptz, at_times text[],
               repeat integer, withdrawn_at timestamptz, withdraw_reason text, refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    why := loaxa.own(p_station, st);
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text,
            NULL::bigint, NULL::timestamptz, NULL::timestamptz, NULL::text[], NULL::integer,
            NULL::timestamptz, NULL::text, why;
        RETURN;
    END IF;
    UPDATE loaxa.stations s SET contact_at = now() WHERE s.id = p_station;
    RETURN QUERY
        SELECT b.id, b.title, b.level, b.clip, c.file_name, length(c.bytes)::bigint,
               b.valid_from, b.valid_until, b.at_times, b.repeat, b.withdrawn_at,
               b.withdraw_reason, NULL::jsonb
        FROM loaxa.bulletin_targets t
        JOIN loaxa.bulletins b ON b.id = t.bulletin
        JOIN loaxa.clips c ON c.sha256 = b.clip
        WHERE t.station = p_station AND b.valid_until > now() - interval '1 day'
        ORDER BY b.id;
END
$fn$;

-- A bulletin's clip, to a station it is addressed to.
CREATE FUNCTION loaxa.bulletin_clip(p_station text, p_bulletin bigint)
RETURNS TABLE (bytes bytea, refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    why := loaxa.own(p_station, st);
    IF why IS NULL AND NOT EXISTS (SELECT 1 FROM loaxa.bulletin_targets t
                                   WHERE t.station = p_station AND t.bulletin = p_bulletin) THEN
        why := loaxa.refuse(p_station, jsonb_build_object('code', 'not_addressed',
            'bulletin', p_bulletin));
    END IF;
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bytea, why;
        RETURN;
    END IF;
    RETURN QUERY SELECT c.bytes, NULL::jsonb FROM loaxa.bulletins b
        JOIN loaxa.clips c ON c.sha256 = b.clip WHERE b.id = p_bulletin;
END
$fn$;

-- Notes what a batch says of bulletins: the bulletin events the station journaled, and
-- every airing of a bulletin's clip at a station it was addressed to.
CREATE FUNCTION loaxa.note_deliveries(p_station text, p_from bigint) RETURNS void
LANGUAGE sql SET search_path = loaxa, pg_temp
AS $fn$
    INSERT INTO loaxa.deliveries (station, seq, bulletin, what, recorded_at, body)
        SELECT p_station, e.seq, (e.body::jsonb ->> 'bulletin')::bigint,
               e.body::jsonb ->> 'what', e.recorded_at, e.body::jsonb
        FROM loaxa.events e
        WHERE e.station = p_station AND e.seq >= p_from AND e.kind = 'console_action'
          AND e.body::jsonb ->> 'bulletin' IS NOT NULL
          AND EXISTS (SELECT 1 FROM loaxa.bulletin_targets t WHERE t.station = p_station
                      AND t.bulletin = (e.body::jsonb ->> 'bulletin')::bigint)
    ON CONFLICT DO NOTHING;
    INSERT INTO loaxa.deliveries (station, seq, bulletin, what, recorded_at, body)
        SELECT p_station, e.seq, t.bulletin, 'aired', e.recorded_at, e.body::jsonb
        FROM loaxa.events e
        JOIN loaxa.bulletins b ON b.clip = e.body::jsonb ->> 'sha256'
        JOIN loaxa.bulletin_targets t ON t.bulletin = b.id AND t.station = p_station
        WHERE e.station = p_station AND e.seq >= p_from AND e.kind = 'clip_aired'
    ON CONFLICT DO NOTHING;
$fn$;

CREATE OR REPLACE FUNCTION loaxa.tally(p_station text, p_from bigint, p_sign bigint) RETURNS void
LANGUAGE plpgsql SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    tz text;
BEGIN
    SELECT s.value INTO tz FROM loaxa.settings s WHERE s.key = 'timezone';
    INSERT INTO loaxa.rollup AS r (station, month, plan, slot, topic, kind, outcome, reason, n)
        SELECT p_station,
               date_trunc('month', to_timestamp(b.columns[2]::bigint / 1000.0) AT TIME ZONE tz)::date,
               coalesce(b.columns[3], ''), coalesce(b.columns[4], ''), coalesce(b.columns[5], ''),
               b.kind, coalesce(b.columns[7], ''),
               CASE WHEN b.kind = 'broadcast_started' THEN ''
                    ELSE coalesce(b.body::jsonb #>> '{reason,code}', '') END,
               p_sign * count(*)
        FROM loaxa.events b
        WHERE b.station = p_station AND b.seq >= p_from
          AND b.kind IN ('broadcast_started', 'broadcast_ended', 'occurrence_missed')
          AND b.columns[6] = '0' AND b.columns[2] IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (month, station, plan, slot, topic, kind, outcome, reason)
        DO UPDATE SET n = r.n + EXCLUDED.n;
    IF p_sign > 0 THEN
        INSERT INTO loaxa.schedules (station, sha256, file, content, first_seq)
            SELECT p_station, j.body->>'sha256', j.body->>'file', j.body->>'content', j.seq
            FROM (SELECT b.seq, b.body::jsonb AS body FROM loaxa.events b
                  WHERE b.station = p_station AND b.seq >= p_from
                    AND b.kind = 'schedule_loaded') j
        ON CONFLICT DO NOTHING;
        PERFORM loaxa.note_deliveries(p_station, p_from);
    ELSE
        DELETE FROM loaxa.rollup r WHERE r.station = p_station AND r.n = 0;
        DELETE FROM loaxa.deliveries d WHERE d.station = p_station AND d.seq >= p_from;
    END IF;
END
$fn$;

-- Each station's last heartbeat (every 30 s while its sync is connected): whether its
-- daemon runs, what is on air, whether the output is up, how many events wait to be sent.
CREATE TABLE loaxa.heartbeats (
    station text PRIMARY KEY REFERENCES loaxa.stations (id),
    at timestamptz NOT NULL DEFAULT now(),
    live boolean NOT NULL,
    on_air text,
    output_ok boolean NOT NULL,
    backlog bigint NOT NULL
);

CREATE FUNCTION loaxa.heartbeat(p_station text, p_live boolean, p_on_air text,
                                p_output_ok boolean, p_backlog bigint)
RETURNS TABLE (refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    why := loaxa.own(p_station, st);
    IF why IS NULL THEN
        UPDATE loaxa.stations s SET contact_at = now() WHERE s.id = p_station;
        INSERT INTO loaxa.heartbeats AS h (station, live, on_air, output_ok, backlog)
            VALUES (p_station, p_live, left(p_on_air, 200), p_output_ok, greatest(p_backlog, 0))
        ON CONFLICT (station) DO UPDATE SET at = now(), live = EXCLUDED.live,
            on_air = EXCLUDED.on_air, output_ok = EXCLUDED.output_ok, backlog = EXCLUDED.backlog;
    END IF;
    RETURN QUERY SELECT why;
END
$fn$;

REVOKE ALL ON ALL TABLES IN SCHEMA loaxa FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA loaxa FROM PUBLIC;
GRANT EXECUTE ON FUNCTION loaxa.bulletins_for(text), loaxa.bulletin_clip(text, bigint),
    loaxa.heartbeat(text, boolean, text, boolean, bigint) TO loaxa_station;
"#,
    // 4: an airing counts for the bulletin its clip says it is (the journal notes it from
    // the clip's sidecar); only an older station's airing, which does not say, is matched
    // by the clip's SHA-256 (and then counts for every bulletin that shares the audio).
    r#"
CREATE OR REPLACE FUNCTION loaxa.note_deliveries(p_station text, p_from bigint) RETURNS void
LANGUAGE sql SET search_path = loaxa, pg_temp
AS $fn$
    INSERT INTO loaxa.deliveries (station, seq, bulletin, what, recorded_at, body)
        SELECT p_station, e.seq, (e.body::jsonb ->> 'bulletin')::bigint,
               e.body::jsonb ->> 'what', e.recorded_at, e.body::jsonb
        FROM loaxa.events e
        WHERE e.station = p_station AND e.seq >= p_from AND e.kind = 'console_action'
          AND e.body::jsonb ->> 'bulletin' IS NOT NULL
          AND EXISTS (SELECT 1 FROM loaxa.bulletin_targets t WHERE t.station = p_station
                      AND t.bulletin = (e.body::jsonb ->> 'bulletin')::bigint)
    ON CONFLICT DO NOTHING;
    INSERT INTO loaxa.deliveries (station, seq, bulletin, what, recorded_at, body)
        SELECT p_station, e.seq, t.bulletin, 'aired', e.recorded_at, e.body::jsonb
        FROM loaxa.events e
        JOIN loaxa.bulletin_targets t ON t.station = p_station
             AND t.bulletin = (e.body::jsonb ->> 'bulletin')::bigint
        WHERE e.station = p_station AND e.seq >= p_from AND e.kind = 'clip_aired'
          AND e.body::jsonb ? 'bulletin'
        UNION ALL
        SELECT p_station, e.seq, t.bulletin, 'aired', e.recorded_at, e.body::jsonb
        FROM loaxa.events e
        JOIN loaxa.bulletins b ON b.clip = e.body::jsonb ->> 'sha256'
        JOIN loaxa.bulletin_targets t ON t.bulletin = b.id AND t.station = p_station
        WHERE e.station = p_station AND e.seq >= p_from AND e.kind = 'clip_aired'
          AND NOT e.body::jsonb ? 'bulletin'
    ON CONFLICT DO NOTHING;
$fn$;
"#,
    // 5: two people for a send. An editor's draft waits here, invisible to every station
    // (it has no targets), until someone else approves it; then it is sent as any bulletin,
    // which keeps who drafted and who approved it (or that an approver sent it alone).
    r#"
CREATE TABLE loaxa.bulletin_drafts (
    id bigserial PRIMARY KEY,
    title text NOT NULL CHECK (btrim(title) <> ''),
    level text NOT NULL CHECK (level IN ('normal', 'priority', 'emergency')),
    clip text NOT NULL REFERENCES loaxa.clips (sha256),
    -- As the editor gave them; an open start or end is settled at approval.
    valid_from timestamptz,
    valid_until timestamptz,
    at_times text[] NOT NULL DEFAULT '{}',
    repeat integer NOT NULL DEFAULT 1 CHECK (repeat BETWEEN 1 AND 10),
    addressed text[] NOT NULL,
    drafted_by text NOT NULL CHECK (btrim(drafted_by) <> ''),
    drafted_at timestamptz NOT NULL DEFAULT now(),
    -- Once approved: the bulletin it became, by whom, when.
    bulletin bigint REFERENCES loaxa.bulletins (id),
    approved_by text,
    approved_at timestamptz,
    CHECK ((bulletin IS NULL) = (approved_by IS NULL))
);
ALTER TABLE loaxa.bulletins
    ADD COLUMN drafted_by text,
    ADD COLUMN approved_by text,
    ADD COLUMN sent_alone boolean NOT NULL DEFAULT false;
REVOKE ALL ON loaxa.bulletin_drafts FROM PUBLIC;
"#,
    // 6: the province's console. Its accounts (argon2id hashes, never a password) with their
    // role, and what was done there: logins refused, every change, by whom and from where. A
    // station's login has no grant on either.
    r#"
CREATE TABLE loaxa.console_accounts (
    name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,39}$'),
    role text NOT NULL CHECK (role IN ('viewer', 'editor', 'approver')),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE loaxa.console_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    login text NOT NULL,
    address text NOT NULL,
    what text NOT NULL,
    detail text
);
REVOKE ALL ON loaxa.console_accounts, loaxa.console_log FROM PUBLIC;
-- The person who re-admitted a station at the console (the database login is kept too).
ALTER TABLE loaxa.readmissions ADD COLUMN by_person text;
-- Where a commune is, for the province's map (`loaxa central locate`).
ALTER TABLE loaxa.stations
    ADD COLUMN latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    ADD COLUMN longitude double precision CHECK (longitude BETWEEN -180 AND 180);
"#,
    // 7: where a commune's stream is heard, as its `loaxa sync` says in its heartbeat, for the
    // province's console to link to. Only a web address is kept (a link someone will click),
    // never one carrying credentials; anything else is kept as no link. An older station
    // calls with five arguments and leaves it empty.
    r#"
ALTER TABLE loaxa.heartbeats ADD COLUMN stream_url text
    CHECK (stream_url ~ '^https?://[^/@[:space:]]+(/[^[:space:]]*)?$' AND length(stream_url) <= 300);
DROP FUNCTION loaxa.heartbeat(text, boolean, text, boolean, bigint);
CREATE FUNCTION loaxa.heartbeat(p_station text, p_live boolean, p_on_air text,
                                p_output_ok boolean, p_backlog bigint, p_stream text DEFAULT NULL)
RETURNS TABLE (refused jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = loaxa, pg_temp
AS $fn$
DECLARE
    st loaxa.stations%ROWTYPE;
    why jsonb;
    link text := CASE WHEN p_stream ~ '^https?://[^/@[:space:]]+(/[^[:space:]]*)?$'
                           AND length(p_stream) <= 300 THEN p_stream END;
BEGIN
    SELECT * INTO st FROM loaxa.stations s WHERE s.id = p_station;
    why := loaxa.own(p_station, st);
    IF why IS NULL THEN
        UPDATE loaxa.stations s SET contact_at = now() WHERE s.id = p_station;
        INSERT INTO loaxa.heartbeats AS h (station, live, on_air, output_ok, backlog, stream_url)
            VALUES (p_station, p_live, left(p_on_air, 200), p_output_ok, greatest(p_backlog, 0), link)
        ON CONFLICT (station) DO UPDATE SET at = now(), live = EXCLUDED.live,
            on_air = EXCLUDED.on_air, output_ok = EXCLUDED.output_ok, backlog = EXCLUDED.backlog,
            stream_url = EXCLUDED.stream_url;
    END IF;
    RETURN QUERY SELECT why;
END
$fn$;
REVOKE ALL ON FUNCTION loaxa.heartbeat(text, boolean, text, boolean, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION loaxa.heartbeat(text, boolean, text, boolean, bigint, text)
    TO loaxa_station;
"#,
];
