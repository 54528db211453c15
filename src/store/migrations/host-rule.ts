// Migration 6 (PostgreSQL): a host's acquire and release as one server-side function, so the
// hot path is one round trip (`SELECT keyholder_host_rule(…)` in autocommit) instead of five.
// It is a copy of `decideHostRule` (src/lock/host-rules.ts) — expire leases, then acquire
// (refresh when held) or release — and test/integration/rule-parity.test.ts runs the same
// table of cases through both. What it does not cover it hands back as NULL, having written
// nothing but the host's check-in, and the store runs the general TypeScript path instead:
// an unknown host (registration or unknown_host), a missing lock (creation and its fencing
// counter), a lock with maintenance windows (time-zone rules: luxon, not SQL), and a lock with
// a queue (queue position, lapsed waiters, NOTIFY for wake-ups), a lock with blackouts or a
// paused_until (migration 9), every lock while the global pause (settings row `pause`) is
// active, a lock with health gates (their verdicts are fetched over HTTP before the
// transaction: src/service/locks.ts), a percentage max_holders (migration 10) and a nested
// lock (a parent or children: every level of the chain is written, migration 11). None of
// these is the steady state of a fleet polling its update lock.
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
// changes `locks.holders` with the lock row's own UPDATE, so a grant or release writes that
// row and its event (and at most once a second the check-in and the membership).

export const HOST_RULE_FUNCTION = `
CREATE OR REPLACE FUNCTION keyholder_host_rule(p_rule text, p_ref text, p_ref_id bigint, p_host text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
  v_host hosts%ROWTYPE;
  v_lock locks%ROWTYPE;
  v_list jsonb;
  v_mine jsonb;
  v_was_updated bigint;
  v_was_counter bigint;
  v_changed boolean := false;
  v_count integer := 0;
  v_others integer := 0;
  v_expires bigint;
  v_outcome text;
  v_reason text;
  v_holders jsonb;
BEGIN
  -- KEY SHARE: an operator's DELETE of the host waits for this call (or this waits for it and
  -- finds no row), so no holder of a host deleted meanwhile is written (migration 12; the
  -- deletion takes the host out of every lock's holders after its DELETE, migration 14).
  SELECT * INTO v_host FROM hosts WHERE name = p_host FOR KEY SHARE;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF v_host.last_checkin_at IS NULL OR v_now - v_host.last_checkin_at >= 1000 THEN
    UPDATE hosts SET last_checkin_at = v_now WHERE id = v_host.id;
  END IF;

  -- foreman_dlm tries a numeric id first, then the name.
  IF p_ref_id IS NOT NULL THEN
    SELECT * INTO v_lock FROM locks WHERE id = p_ref_id FOR UPDATE;
  END IF;
  IF v_lock.id IS NULL THEN
    SELECT * INTO v_lock FROM locks WHERE name = p_ref FOR UPDATE;
  END IF;
  IF v_lock.id IS NULL OR v_lock.windows IS NOT NULL OR v_lock.gates IS NOT NULL
     OR EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id)
     OR v_lock.blackouts IS NOT NULL OR v_lock.paused_until IS NOT NULL
     OR EXISTS (SELECT 1 FROM settings WHERE name = 'pause'
                AND ((value::jsonb)->>'until')::bigint > v_now)
     -- a percentage max_holders counts the members (migration 10): the TypeScript path's
     OR v_lock.max_holders_pct IS NOT NULL
     OR v_lock.parent_id IS NOT NULL OR EXISTS (SELECT 1 FROM locks WHERE parent_id = v_lock.id) THEN
    RETURN NULL;
  END IF;
  v_was_updated := v_lock.updated_at;
  v_was_counter := v_lock.fencing_counter;
  v_list := v_lock.holders;

  -- expireLeases: holders whose lease ran out go first, an expire event each (next_expiry,
  -- kept with the holders, says whether any did without looking at them).
  IF v_lock.next_expiry <= v_now THEN
    INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, created_at)
    SELECT v_lock.id, v_lock.name, 'expire', h.id, h.name, v_now
    FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o) JOIN hosts h ON h.id = (e->>'host_id')::bigint
    WHERE (e->>'expires_at')::bigint <= v_now ORDER BY o;
    SELECT COALESCE(jsonb_agg(e ORDER BY o), '[]'::jsonb) INTO v_list
    FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o)
    WHERE e->>'expires_at' IS NULL OR (e->>'expires_at')::bigint > v_now;
    v_changed := true;
    v_lock.updated_at := v_now;
  END IF;
  v_count := jsonb_array_length(v_list);
  IF v_count > 0 THEN
    SELECT e INTO v_mine FROM jsonb_array_elements(v_list) AS t(e) WHERE (e->>'host_id')::bigint = v_host.id;
  END IF;
  v_others := v_count - CASE WHEN v_mine IS NULL THEN 0 ELSE 1 END;

  v_expires := CASE WHEN v_lock.lease_seconds IS NULL THEN NULL ELSE v_now + v_lock.lease_seconds * 1000 END;

  IF p_rule = 'acquire' THEN
    IF NOT v_lock.enabled THEN
      v_reason := 'disabled';
    ELSIF NOT v_host.can_acquire_locks THEN
      v_reason := 'host_barred';
    ELSIF v_mine IS NOT NULL THEN
      v_outcome := 'refreshed';
      v_lock.updated_at := v_now;
      IF (v_mine->>'refreshed_at')::bigint <> v_now OR (v_mine->>'expires_at')::bigint IS DISTINCT FROM v_expires THEN
        -- a refresh ends a stale episode: the next one is reported again
        v_mine := v_mine || jsonb_build_object('refreshed_at', v_now, 'expires_at', v_expires, 'stale_reported_at', NULL);
        SELECT jsonb_agg(CASE WHEN (e->>'host_id')::bigint = v_host.id THEN v_mine ELSE e END ORDER BY o) INTO v_list
        FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o);
        v_changed := true;
      END IF;
    ELSIF v_count >= v_lock.max_holders THEN
      v_reason := CASE WHEN v_lock.max_holders = 1 THEN 'held' ELSE 'full' END;
    ELSE
      -- admitHolder: the next fencing token, the highest: last in the array
      v_outcome := 'acquired';
      v_lock.fencing_counter := v_lock.fencing_counter + 1;
      v_lock.updated_at := v_now;
      v_mine := jsonb_build_object('host_id', v_host.id, 'acquired_at', v_now, 'refreshed_at', v_now,
        'fencing_token', v_lock.fencing_counter, 'expires_at', v_expires, 'via_lock_id', NULL,
        'stale_reported_at', NULL);
      v_list := v_list || jsonb_build_array(v_mine);
      v_changed := true;
      -- membership (migration 10) comes with the grant, as in applyNext, and like the check-in
      -- is written at most once a second (MEMBER_TOUCH_EVERY_MS in src/store/lock-sql.ts): a
      -- fresh last_acquired_at is neither rewritten nor locked.
      INSERT INTO lock_members (lock_id, host_id, last_acquired_at)
      SELECT v_lock.id, v_host.id, v_now
      WHERE NOT EXISTS (SELECT 1 FROM lock_members WHERE lock_id = v_lock.id AND host_id = v_host.id
                        AND last_acquired_at > v_now - 1000)
      ON CONFLICT (lock_id, host_id) DO UPDATE SET last_acquired_at = excluded.last_acquired_at
      WHERE lock_members.last_acquired_at IS NULL OR lock_members.last_acquired_at <= excluded.last_acquired_at - 1000;
      INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, created_at)
      VALUES (v_lock.id, v_lock.name, 'acquire', v_host.id, v_host.name, v_now);
    END IF;
  ELSE
    IF NOT v_lock.enabled THEN
      v_reason := 'disabled';
    ELSIF v_mine IS NOT NULL THEN
      v_outcome := 'released';
      v_lock.updated_at := v_now;
      SELECT COALESCE(jsonb_agg(e ORDER BY o), '[]'::jsonb) INTO v_list
      FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o) WHERE (e->>'host_id')::bigint <> v_host.id;
      v_mine := NULL;
      v_changed := true;
      INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, created_at)
      VALUES (v_lock.id, v_lock.name, 'release', v_host.id, v_host.name, v_now);
    ELSIF v_count = 0 THEN
      v_outcome := 'not_held';
    ELSE
      v_reason := 'held';
    END IF;
  END IF;

  IF v_reason IS NOT NULL THEN
    INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, detail, created_at)
    VALUES (v_lock.id, v_lock.name, 'fail', v_host.id, v_host.name, p_rule || ': ' || v_reason, v_now);
  END IF;
  IF v_changed OR v_lock.updated_at <> v_was_updated OR v_lock.fencing_counter <> v_was_counter THEN
    v_lock.holders := v_list;
    v_lock.holder_count := jsonb_array_length(v_list);
    v_lock.next_expiry := (SELECT MIN((e->>'expires_at')::bigint) FROM jsonb_array_elements(v_list) AS t(e));
    UPDATE locks SET updated_at = v_lock.updated_at, fencing_counter = v_lock.fencing_counter,
      holders = v_lock.holders, holder_count = v_lock.holder_count, next_expiry = v_lock.next_expiry
    WHERE id = v_lock.id;
  END IF;

  -- The holders afterwards: when no other host holds the lock (the steady state of a host
  -- polling its lock) they are known without a read; otherwise with their names from hosts.
  IF v_others = 0 THEN
    v_holders := CASE WHEN v_mine IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
      'lock_id', v_lock.id, 'host_id', v_host.id, 'host_name', v_host.name,
      'acquired_at', v_mine->'acquired_at', 'refreshed_at', v_mine->'refreshed_at',
      'fencing_token', v_mine->'fencing_token', 'expires_at', v_mine->'expires_at')) END;
  ELSE
    SELECT COALESCE(jsonb_agg(jsonb_build_object(
        'lock_id', v_lock.id, 'host_id', h.id, 'host_name', h.name,
        'acquired_at', e->'acquired_at', 'refreshed_at', e->'refreshed_at',
        'fencing_token', e->'fencing_token', 'expires_at', e->'expires_at') ORDER BY o), '[]'::jsonb)
    INTO v_holders
    FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o) JOIN hosts h ON h.id = (e->>'host_id')::bigint;
  END IF;
  RETURN jsonb_build_object('outcome', v_outcome, 'reason', v_reason, 'now', v_now,
                            'lock', to_jsonb(v_lock) - 'holders', 'holders', v_holders);
END
$fn$;`;
