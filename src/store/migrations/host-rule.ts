// Migration 6 (PostgreSQL): a host's acquire and release as one server-side function, so the
// hot path is one round trip (`SELECT keyholder_host_rule(…)` in autocommit) instead of five.
// It is a copy of `decideHostRule` (src/lock/host-rules.ts) — expire leases, then acquire
// (refresh when held) or release — and test/integration/rule-parity.test.ts runs the same
// table of cases through both. What it does not cover it hands back as NULL, having written
// nothing but the host's check-in, and the store runs the general TypeScript path instead:
// an unknown host (registration or unknown_host), a missing lock (creation and its fencing
// counter), a lock with maintenance windows (time-zone rules: luxon, not SQL), a lock with
// blackouts or a paused_until (migration 9), every lock while the global pause (settings row
// `pause`) is active, a lock with health gates (their verdicts are fetched over HTTP before the
// transaction: src/service/locks.ts), a percentage max_holders (migration 10) and a nested
// lock (a parent or children: every level of the chain is written, migration 11). None of
// these is the steady state of a fleet polling its update lock. (A lock with a queue was on
// this list until migration 15.)
//
// The check-in is written at most once a second (CHECKIN_EVERY_MS in src/store/lock-sql.ts),
// and before the lock row is taken, in the same order as the TypeScript path.
//
// Migration 13 made it cheaper for PostgreSQL, whose CPU is what limits this path (the
// breakdown: bench/pg-ops.ts): the holders are read once (no expiry DELETE unless a lease ran
// out), a grant rewrites the membership at most once a second (MEMBER_TOUCH_EVERY_MS), and the
// answer's holders are built from what was read unless another host holds the lock too.
//
// Migration 14 keeps the holders in the lock row (src/store/holders-json.ts): the function
// takes the lock row, decides on the holders in hand, and one statement then writes the row
// with its holders, the events and (at most once a second) the membership, its WHERE checking
// the queue, the global pause and children — so a grant or release writes one lock row and
// its event (per operation: 2.1 rows written and 28 shared buffers, was 3.0 and 38; WAL 713 B,
// was 769 B). Changes within the same millisecond are told by a flag, not by updated_at.
//
// Migration 15 answers locks with a queue (blocking acquires waiting in lock_waiters) too, as
// runLockOp does (src/store/sql-store.ts): the head of the live queue is read (the first
// max_holders + 2 live entries, stepping over at most LAPSED_PER_OP lapsed ones, as
// src/store/lock-reads.ts does), the lapsed entries read are deleted, a plain acquire that is
// not ahead of the queue is refused `queued` (decideAcquire), and a change that may let a
// waiter in — a holder left, or lapsed entries went — sends the change note
// (src/store/change-note.ts, the caller's instance id `p_instance`) naming the head waiters
// that may now be admitted (waitersToWake, src/lock/wake.ts). The answer's `wake` tells the
// store whom to wake in its own process. A blocking acquire's own attempts (they enqueue and
// dequeue) stay on the TypeScript path. A lock without a queue costs what it did before: the
// function decides as if there were none, and the writing statement's NOT EXISTS (or, for a
// refusal, the check before its event) finds a queue; only then is the lock decided again, on
// the queue's path (a statement more than before for an unchanged EXISTS up front, which
// bench:pgops could not tell from the noise on a shared machine, but which every polling host
// would pay).

export const HOST_RULE_FUNCTION = `
CREATE OR REPLACE FUNCTION keyholder_host_rule(p_rule text, p_ref text, p_ref_id bigint, p_host text,
  p_instance text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
  v_host hosts%ROWTYPE;
  v_lock locks%ROWTYPE;
  v_list jsonb;
  v_mine jsonb;
  -- v_mine's index in v_list (0-based): a refresh or release changes that element alone
  v_mine_at integer;
  v_count integer;
  v_others integer;
  v_expires bigint;
  v_updated bigint;
  v_counter bigint;
  v_outcome text;
  v_reason text;
  v_types text[] := '{}';
  v_host_ids bigint[] := '{}';
  v_host_names text[] := '{}';
  v_details text[] := '{}';
  v_written integer;
  -- whether the lock row changes: not told by updated_at, which a change within the same
  -- millisecond as the last one leaves as it was
  v_changed boolean := false;
  v_holders jsonb;
  v_names text[];
  -- the queue: whether it has entries, its live head (ids, first come first), the lapsed read
  v_queued boolean := false;
  v_live bigint[] := '{}';
  v_lapsed bigint[] := '{}';
  v_read integer;
  v_scan integer;
  v_held_before integer;
  v_free integer;
  v_wake bigint[];
  v_answer jsonb;
BEGIN
  -- KEY SHARE: an operator's DELETE of the host waits for this call (or this waits for it and
  -- finds no row), so no holder of a host deleted meanwhile is written (migration 12; the
  -- deletion takes the host out of every lock's holders after its DELETE, migration 14).
  SELECT * INTO v_host FROM hosts WHERE name = p_host FOR KEY SHARE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF v_host.last_checkin_at IS NULL OR v_now - v_host.last_checkin_at >= 1000 THEN
    UPDATE hosts SET last_checkin_at = v_now WHERE id = v_host.id;
  END IF;

  -- foreman_dlm tries a numeric id first, then the name. The row is taken first, on its own:
  -- every statement after it sees what the transaction that held it before committed (a
  -- waiter it queued, a child it created), which one statement's snapshot would not.
  IF p_ref_id IS NOT NULL THEN
    SELECT * INTO v_lock FROM locks WHERE id = p_ref_id FOR UPDATE;
  END IF;
  IF v_lock.id IS NULL THEN
    SELECT * INTO v_lock FROM locks WHERE name = p_ref FOR UPDATE;
  END IF;
  -- what the lock row says; the queue, the global pause and children are looked at by the
  -- statement that writes (or, for an answer that writes no row, right before it)
  IF v_lock.id IS NULL OR v_lock.windows IS NOT NULL OR v_lock.gates IS NOT NULL
     OR v_lock.blackouts IS NOT NULL OR v_lock.paused_until IS NOT NULL
     -- a percentage max_holders counts the members (migration 10): the TypeScript path's
     OR v_lock.max_holders_pct IS NOT NULL OR v_lock.parent_id IS NOT NULL THEN
    RETURN NULL;
  END IF;
  -- Decided first as if the lock had no queue (the steady state: the queue costs the writing
  -- statement's NOT EXISTS, as before migration 15); a lock found to have one is decided again
  -- on the queue's path, once (v_queued), before anything but the check-in was written.
  <<attempt>>
  LOOP
    v_list := v_lock.holders;
    v_held_before := jsonb_array_length(v_list);
    v_updated := v_lock.updated_at;
    v_counter := v_lock.fencing_counter;

    -- The queue's head (src/store/lock-reads.ts): its first max_holders + 2 live entries, read
    -- from the first max_holders + 102 (LAPSED_PER_OP lapsed ones stepped over); the lapsed
    -- among those read are deleted.
    IF v_queued THEN
      -- the global pause and children hand the lock on before anything is written
      IF EXISTS (SELECT 1 FROM settings WHERE name = 'pause' AND ((value::jsonb)->>'until')::bigint > v_now)
         OR EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = v_lock.id) THEN
        RETURN NULL;
      END IF;
      v_scan := v_lock.max_holders + 2 + 100;
      -- waiterIsLive (src/lock/queue.ts): time not up, the owning instance's lease not run out
      SELECT COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE q.live), '{}'),
             COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE NOT q.live), '{}'), COUNT(*)
      INTO v_live, v_lapsed, v_read
      FROM (SELECT w.id, COALESCE(w.deadline > v_now AND i.expires_at > v_now, false) AS live
            FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id
            WHERE w.lock_id = v_lock.id ORDER BY w.id LIMIT v_scan) AS q;
      IF v_read >= v_scan AND cardinality(v_live) < v_lock.max_holders + 2 THEN
        -- more lapsed entries than that before the head: the whole queue, as the TypeScript path
        SELECT COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE q.live), '{}'),
               COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE NOT q.live), '{}')
        INTO v_live, v_lapsed
        FROM (SELECT w.id, COALESCE(w.deadline > v_now AND i.expires_at > v_now, false) AS live
              FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id
              WHERE w.lock_id = v_lock.id) AS q;
      END IF;
      v_live := v_live[1:v_lock.max_holders + 2];
      IF cardinality(v_lapsed) > 0 THEN
        DELETE FROM lock_waiters WHERE id = ANY (v_lapsed);
      END IF;
    END IF;

    -- expireLeases: holders whose lease ran out go first, an expire event each. next_expiry,
    -- kept with the holders, says whether any did without looking at them.
    IF v_lock.next_expiry <= v_now THEN
      SELECT COALESCE(array_agg('expire'::text ORDER BY o), '{}'), COALESCE(array_agg(h.id ORDER BY o), '{}'),
             COALESCE(array_agg(h.name ORDER BY o), '{}'), COALESCE(array_agg(NULL::text ORDER BY o), '{}')
      INTO v_types, v_host_ids, v_host_names, v_details
      FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o) JOIN hosts h ON h.id = (e->>'host_id')::bigint
      WHERE (e->>'expires_at')::bigint <= v_now;
      SELECT COALESCE(jsonb_agg(e ORDER BY o), '[]'::jsonb) INTO v_list
      FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o)
      WHERE e->>'expires_at' IS NULL OR (e->>'expires_at')::bigint > v_now;
      v_updated := v_now;
      v_changed := true;
    END IF;
    v_count := jsonb_array_length(v_list);
    IF v_count = 1 THEN
      IF (v_list->0->>'host_id')::bigint = v_host.id THEN v_mine := v_list->0; v_mine_at := 0; END IF;
    ELSIF v_count > 1 THEN
      SELECT e, o - 1 INTO v_mine, v_mine_at FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o)
      WHERE (e->>'host_id')::bigint = v_host.id;
    END IF;
    v_others := v_count - CASE WHEN v_mine IS NULL THEN 0 ELSE 1 END;
    v_expires := CASE WHEN v_lock.lease_seconds IS NULL THEN NULL ELSE v_now + v_lock.lease_seconds * 1000 END;

    -- decideHostRule (src/lock/host-rules.ts), on the holders in hand
    IF p_rule = 'acquire' THEN
      IF NOT v_lock.enabled THEN
        v_reason := 'disabled';
      ELSIF NOT v_host.can_acquire_locks THEN
        v_reason := 'host_barred';
      ELSIF v_mine IS NOT NULL THEN
        v_outcome := 'refreshed';
        v_changed := v_changed OR v_updated <> v_now;
        v_updated := v_now;
        IF (v_mine->>'refreshed_at')::bigint <> v_now OR (v_mine->>'expires_at')::bigint IS DISTINCT FROM v_expires THEN
          -- a refresh ends a stale episode: the next one is reported again
          v_mine := v_mine || jsonb_build_object('refreshed_at', v_now, 'expires_at', v_expires, 'stale_reported_at', NULL);
          v_changed := true;
          IF v_count = 1 THEN
            v_list := jsonb_build_array(v_mine);
          ELSE
            -- one element replaced, not the array rebuilt (a large semaphore has thousands)
            v_list := jsonb_set(v_list, ARRAY[v_mine_at::text], v_mine);
          END IF;
        END IF;
      ELSIF v_count >= v_lock.max_holders THEN
        v_reason := CASE WHEN v_lock.max_holders = 1 THEN 'held' ELSE 'full' END;
      ELSIF cardinality(v_live) >= v_lock.max_holders - v_count THEN
        -- a request without a queue entry comes after every live waiter (decideHostRule)
        v_reason := 'queued';
      ELSE
        -- admitHolder: the next fencing token, the highest, so the array stays in token order
        v_outcome := 'acquired';
        v_counter := v_counter + 1;
        v_updated := v_now;
        v_changed := true;
        v_mine := jsonb_build_object('host_id', v_host.id, 'acquired_at', v_now, 'refreshed_at', v_now,
          'fencing_token', v_counter, 'expires_at', v_expires, 'via_lock_id', NULL, 'stale_reported_at', NULL);
        v_list := v_list || jsonb_build_array(v_mine);
        v_types := v_types || 'acquire'::text;
        v_host_ids := v_host_ids || v_host.id;
        v_host_names := v_host_names || v_host.name;
        v_details := v_details || NULL::text;
      END IF;
    ELSE
      IF NOT v_lock.enabled THEN
        v_reason := 'disabled';
      ELSIF v_mine IS NOT NULL THEN
        v_outcome := 'released';
        v_updated := v_now;
        v_changed := true;
        IF v_count = 1 THEN
          v_list := '[]'::jsonb;
        ELSE
          v_list := v_list - v_mine_at;
        END IF;
        v_mine := NULL;
        v_types := v_types || 'release'::text;
        v_host_ids := v_host_ids || v_host.id;
        v_host_names := v_host_names || v_host.name;
        v_details := v_details || NULL::text;
      ELSIF v_count = 0 THEN
        v_outcome := 'not_held';
      ELSE
        v_reason := 'held';
      END IF;
    END IF;
    IF v_reason IS NOT NULL THEN
      v_types := v_types || 'fail'::text;
      v_host_ids := v_host_ids || v_host.id;
      v_host_names := v_host_names || v_host.name;
      v_details := v_details || (p_rule || ': ' || v_reason);
    END IF;

    IF v_changed THEN
      v_lock.updated_at := v_updated;
      v_lock.fencing_counter := v_counter;
      v_lock.holders := v_list;
      v_lock.holder_count := jsonb_array_length(v_list);
      IF v_lock.holder_count <= 1 THEN
        v_lock.next_expiry := (v_list->0->>'expires_at')::bigint;
      ELSE
        SELECT MIN((e->>'expires_at')::bigint) INTO v_lock.next_expiry FROM jsonb_array_elements(v_list) AS t(e);
      END IF;
      -- The lock row with its holders, the events and (at most once a second,
      -- MEMBER_TOUCH_EVERY_MS in src/store/lock-sql.ts) a grant's membership in one statement —
      -- or, when the lock has children or the global pause is on (or, deciding as if there were
      -- no queue, a queue), nothing at all.
      IF cardinality(v_types) = 0 THEN
        -- a refresh: the row only
        UPDATE locks SET updated_at = v_lock.updated_at, holders = v_lock.holders, next_expiry = v_lock.next_expiry
        WHERE id = v_lock.id
          AND (v_queued OR NOT EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id))
          AND NOT EXISTS (SELECT 1 FROM settings WHERE name = 'pause' AND ((value::jsonb)->>'until')::bigint > v_now)
          AND NOT EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = v_lock.id);
        GET DIAGNOSTICS v_written = ROW_COUNT;
      ELSIF v_outcome = 'acquired' AND cardinality(v_types) = 1 THEN
        WITH u AS (
          UPDATE locks SET updated_at = v_lock.updated_at, fencing_counter = v_lock.fencing_counter,
            holders = v_lock.holders, holder_count = v_lock.holder_count, next_expiry = v_lock.next_expiry
          WHERE id = v_lock.id
            AND (v_queued OR NOT EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id))
            AND NOT EXISTS (SELECT 1 FROM settings WHERE name = 'pause' AND ((value::jsonb)->>'until')::bigint > v_now)
            AND NOT EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = v_lock.id)
          RETURNING id
        ), member AS (
          INSERT INTO lock_members (lock_id, host_id, last_acquired_at)
          SELECT u.id, v_host.id, v_now FROM u
          WHERE NOT EXISTS (SELECT 1 FROM lock_members WHERE lock_id = v_lock.id AND host_id = v_host.id
                            AND last_acquired_at > v_now - 1000)
          ON CONFLICT (lock_id, host_id) DO UPDATE SET last_acquired_at = excluded.last_acquired_at
          WHERE lock_members.last_acquired_at IS NULL OR lock_members.last_acquired_at <= excluded.last_acquired_at - 1000
        ), event AS (
          INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, created_at)
          SELECT u.id, v_lock.name, 'acquire', v_host.id, v_host.name, v_now FROM u
        )
        SELECT COUNT(*) INTO v_written FROM u;
      ELSIF cardinality(v_types) = 1 THEN
        -- one event: a release, or a lease that ran out before a release of nothing
        WITH u AS (
          UPDATE locks SET updated_at = v_lock.updated_at, holders = v_lock.holders,
            holder_count = v_lock.holder_count, next_expiry = v_lock.next_expiry
          WHERE id = v_lock.id
            AND (v_queued OR NOT EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id))
            AND NOT EXISTS (SELECT 1 FROM settings WHERE name = 'pause' AND ((value::jsonb)->>'until')::bigint > v_now)
            AND NOT EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = v_lock.id)
          RETURNING id
        ), event AS (
          INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, detail, created_at)
          SELECT u.id, v_lock.name, v_types[1], v_host_ids[1], v_host_names[1], v_details[1], v_now FROM u
        )
        SELECT COUNT(*) INTO v_written FROM u;
      ELSE
      WITH u AS (
        UPDATE locks SET updated_at = v_lock.updated_at, fencing_counter = v_lock.fencing_counter,
          holders = v_lock.holders, holder_count = v_lock.holder_count, next_expiry = v_lock.next_expiry
        WHERE id = v_lock.id
          AND (v_queued OR NOT EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id))
          AND NOT EXISTS (SELECT 1 FROM settings WHERE name = 'pause' AND ((value::jsonb)->>'until')::bigint > v_now)
          AND NOT EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = v_lock.id)
        RETURNING id
      ), member AS (
        INSERT INTO lock_members (lock_id, host_id, last_acquired_at)
        SELECT u.id, v_host.id, v_now FROM u
        WHERE v_outcome = 'acquired'
          AND NOT EXISTS (SELECT 1 FROM lock_members WHERE lock_id = v_lock.id AND host_id = v_host.id
                          AND last_acquired_at > v_now - 1000)
        ON CONFLICT (lock_id, host_id) DO UPDATE SET last_acquired_at = excluded.last_acquired_at
        WHERE lock_members.last_acquired_at IS NULL OR lock_members.last_acquired_at <= excluded.last_acquired_at - 1000
      ), events AS (
        INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, detail, created_at)
        SELECT u.id, v_lock.name, t.event_type, t.host_id, t.host_name, t.detail, v_now
        FROM u, unnest(v_types, v_host_ids, v_host_names, v_details) WITH ORDINALITY
          AS t(event_type, host_id, host_name, detail, o)
        ORDER BY t.o
      )
      SELECT COUNT(*) INTO v_written FROM u;
      END IF;
      IF v_written = 0 THEN
        -- not written: a queue (taken again on the queue's path below), the pause or children
        IF v_queued OR NOT EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id) THEN RETURN NULL; END IF;
        v_queued := true;
        v_types := '{}'; v_host_ids := '{}'; v_host_names := '{}'; v_details := '{}';
        v_changed := false; v_mine := NULL; v_reason := NULL; v_outcome := NULL;
        SELECT * INTO v_lock FROM locks WHERE id = v_lock.id;
        CONTINUE attempt;
      END IF;
    ELSE
      -- a refusal or not_held: the lock row stays as it is
      IF NOT v_queued
         AND (EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id)
              OR EXISTS (SELECT 1 FROM settings WHERE name = 'pause' AND ((value::jsonb)->>'until')::bigint > v_now)
              OR EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = v_lock.id)) THEN
        IF NOT EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id) THEN RETURN NULL; END IF;
        v_queued := true;
        v_types := '{}'; v_host_ids := '{}'; v_host_names := '{}'; v_details := '{}';
        v_changed := false; v_mine := NULL; v_reason := NULL; v_outcome := NULL;
        SELECT * INTO v_lock FROM locks WHERE id = v_lock.id;
        CONTINUE attempt;
      END IF;
      IF v_reason IS NOT NULL THEN
        INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, detail, created_at)
        VALUES (v_lock.id, v_lock.name, 'fail', v_host.id, v_host.name, p_rule || ': ' || v_reason, v_now);
      END IF;
    END IF;
    EXIT attempt;
  END LOOP;

  -- The holders afterwards: when no other host holds the lock (the steady state of a host
  -- polling its lock) they are known without a read; otherwise with their names from hosts.
  IF v_others = 0 THEN
    v_holders := CASE WHEN v_mine IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
      'lock_id', v_lock.id, 'host_id', v_host.id, 'host_name', v_host.name,
      'acquired_at', v_mine->'acquired_at', 'refreshed_at', v_mine->'refreshed_at',
      'fencing_token', v_mine->'fencing_token', 'expires_at', v_mine->'expires_at')) END;
  ELSE
    -- the holders as stored and their names beside them, in the same order (migration 17): a
    -- jsonb object per holder cost a large semaphore (2,000 holders) tens of ms per call
    v_holders := v_list;
    v_names := ARRAY(SELECT h.name FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o)
                     JOIN hosts h ON h.id = (e->>'host_id')::bigint ORDER BY o);
  END IF;
  -- the row without its holders (they are in the answer already), not built and then dropped
  v_lock.holders := NULL;
  v_answer := jsonb_build_object('outcome', v_outcome, 'reason', v_reason, 'now', v_now,
                                 'lock', to_jsonb(v_lock) - 'holders', 'holders', v_holders);
  IF v_names IS NOT NULL THEN v_answer := v_answer || jsonb_build_object('names', to_jsonb(v_names)); END IF;

  -- runLockOp's signal: a lock with a queue whose change may let a waiter in (a holder left, a
  -- lease ran out) or that lost lapsed entries tells every instance, naming the head waiters
  -- that may now get in (waitersToWake, src/lock/wake.ts; NULL: all of them). The note is
  -- encodeChangeNote's text (src/store/change-note.ts), delivered on commit.
  IF v_queued AND (jsonb_array_length(v_list) < v_held_before OR cardinality(v_lapsed) > 0) THEN
    IF v_lock.enabled THEN
      SELECT greatest(0, v_lock.max_holders - COUNT(*)) INTO v_free FROM jsonb_array_elements(v_list) AS t(e)
      WHERE e->>'expires_at' IS NULL OR (e->>'expires_at')::bigint > v_now;
      -- MAX_NAMED_WAITERS: beyond that many free places, every waiter is woken
      IF NOT (v_free > 200 AND cardinality(v_live) > 200) THEN
        v_wake := COALESCE(v_live[1:v_free], '{}');
      END IF;
    END IF;
    PERFORM pg_notify('keyholder_lock_changed', '{"lock":' || v_lock.id
      || CASE WHEN v_wake IS NULL THEN '' ELSE ',"wake":[' || array_to_string(v_wake, ',') || ']' END
      || CASE WHEN p_instance IS NULL THEN '' ELSE ',"from":' || to_json(p_instance)::text END || '}');
    v_answer := v_answer || jsonb_build_object('changed', true, 'wake', to_jsonb(v_wake));
  END IF;
  RETURN v_answer;
END
$fn$;`;
