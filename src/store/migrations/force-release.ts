// Migration 16 (PostgreSQL): an operator's force release (POST /api/dlmlocks/:id/release) as
// one server-side call, like the host rule (host-rule.ts): the lock row taken, the rule of
// src/lock/force-release.ts applied (leases that ran out go first, then the named holder or
// every holder), the lock row, the `expire`/`force_release` events, the audit entry and the
// change note written in one round trip, the lock afterwards returned with its members counted
// (an operator's answer shows them). The general path (src/store/force-release.ts through
// runLockOp) stays the reference; test/integration/rule-parity.test.ts runs both.
//
// NULL hands the request to that path, having written nothing: a missing lock (its 404), a
// nested lock (a parent, children, or a slot held through a child: every level of the chain is
// written), and a lock with a queue whose calendar (windows, blackouts, a pause) or percentage
// limit decides whom a change wakes. A named host that holds nothing answers `not_held`, also
// having written nothing (the general path rolls back its validation error).
//
// The queue's head is read as the host rule reads it (the first max_holders + 2 live entries,
// stepping over at most 100 lapsed ones); lapsed entries read are deleted; a change that frees
// a place or drops lapsed entries sends encodeChangeNote's text naming the head waiters to wake
// (waitersToWake, src/lock/wake.ts), with the caller's instance id.

export const FORCE_RELEASE_FUNCTION = `
CREATE OR REPLACE FUNCTION keyholder_force_release(p_ref text, p_ref_id bigint, p_host_name text, p_reason text,
  p_user_id bigint, p_user_login text, p_audit_user_id bigint, p_audit_login text, p_audit_address text,
  p_instance text)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  v_now bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
  v_lock locks%ROWTYPE;
  v_list jsonb;
  v_held_before integer;
  v_expired jsonb := '[]';
  v_changed boolean := false;
  v_freed_ids bigint[];
  v_freed_names text[];
  v_members integer;
  v_queued boolean := false;
  v_live bigint[] := '{}';
  v_lapsed bigint[] := '{}';
  v_read integer;
  v_scan integer;
  v_free integer;
  v_wake bigint[];
  v_holders jsonb;
  v_answer jsonb;
BEGIN
  -- foreman_dlm's ref: a numeric id first, then the name
  IF p_ref_id IS NOT NULL THEN
    SELECT * INTO v_lock FROM locks WHERE id = p_ref_id FOR UPDATE;
  END IF;
  IF v_lock.id IS NULL THEN
    SELECT * INTO v_lock FROM locks WHERE name = p_ref FOR UPDATE;
  END IF;
  IF v_lock.id IS NULL OR v_lock.parent_id IS NOT NULL
     OR EXISTS (SELECT 1 FROM locks c WHERE c.parent_id = v_lock.id)
     OR EXISTS (SELECT 1 FROM jsonb_array_elements(v_lock.holders) AS t(e) WHERE e->>'via_lock_id' IS NOT NULL) THEN
    RETURN NULL;
  END IF;

  IF EXISTS (SELECT 1 FROM lock_waiters WHERE lock_id = v_lock.id) THEN
    v_queued := true;
    IF v_lock.windows IS NOT NULL OR v_lock.blackouts IS NOT NULL OR v_lock.paused_until IS NOT NULL
       OR v_lock.max_holders_pct IS NOT NULL THEN
      RETURN NULL;
    END IF;
    -- the queue's head, as keyholder_host_rule reads it (src/store/lock-reads.ts)
    v_scan := v_lock.max_holders + 2 + 100;
    SELECT COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE q.live), '{}'),
           COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE NOT q.live), '{}'), COUNT(*)
    INTO v_live, v_lapsed, v_read
    FROM (SELECT w.id, COALESCE(w.deadline > v_now AND i.expires_at > v_now, false) AS live
          FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id
          WHERE w.lock_id = v_lock.id ORDER BY w.id LIMIT v_scan) AS q;
    IF v_read >= v_scan AND cardinality(v_live) < v_lock.max_holders + 2 THEN
      SELECT COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE q.live), '{}'),
             COALESCE(array_agg(q.id ORDER BY q.id) FILTER (WHERE NOT q.live), '{}')
      INTO v_live, v_lapsed
      FROM (SELECT w.id, COALESCE(w.deadline > v_now AND i.expires_at > v_now, false) AS live
            FROM lock_waiters w LEFT JOIN instances i ON i.id = w.instance_id
            WHERE w.lock_id = v_lock.id) AS q;
    END IF;
    v_live := v_live[1:v_lock.max_holders + 2];
  END IF;

  -- expireLeases: holders whose lease ran out go first, an expire event each
  v_list := v_lock.holders;
  v_held_before := jsonb_array_length(v_list);
  IF v_lock.next_expiry <= v_now THEN
    SELECT COALESCE(jsonb_agg(e ORDER BY o) FILTER (WHERE (e->>'expires_at')::bigint <= v_now), '[]'),
           COALESCE(jsonb_agg(e ORDER BY o) FILTER (WHERE e->>'expires_at' IS NULL OR (e->>'expires_at')::bigint > v_now), '[]')
    INTO v_expired, v_list
    FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o);
    v_changed := true;
  END IF;

  -- decideForceRelease: the named holder, or every holder, in token order
  SELECT COALESCE(array_agg(t.host_id ORDER BY t.o) FILTER (WHERE t.freed), '{}'),
         COALESCE(array_agg(t.name ORDER BY t.o) FILTER (WHERE t.freed), '{}'),
         COALESCE(jsonb_agg(t.e ORDER BY t.o) FILTER (WHERE NOT t.freed), '[]')
  INTO v_freed_ids, v_freed_names, v_list
  FROM (SELECT x.e, x.o, h.id AS host_id, h.name, (p_host_name IS NULL OR h.name = p_host_name) AS freed
        FROM jsonb_array_elements(v_list) WITH ORDINALITY AS x(e, o)
        LEFT JOIN hosts h ON h.id = (x.e->>'host_id')::bigint) AS t;
  -- a named host that holds nothing: said so, nothing written
  IF p_host_name IS NOT NULL AND cardinality(v_freed_ids) = 0 THEN
    RETURN jsonb_build_object('error', 'not_held', 'name', v_lock.name);
  END IF;

  IF cardinality(v_lapsed) > 0 THEN
    DELETE FROM lock_waiters WHERE id = ANY (v_lapsed);
  END IF;
  IF v_changed OR cardinality(v_freed_ids) > 0 THEN
    v_lock.updated_at := v_now;
    v_lock.holders := v_list;
    v_lock.holder_count := jsonb_array_length(v_list);
    SELECT MIN((e->>'expires_at')::bigint) INTO v_lock.next_expiry FROM jsonb_array_elements(v_list) AS t(e);
    UPDATE locks SET updated_at = v_lock.updated_at, holders = v_lock.holders,
      holder_count = v_lock.holder_count, next_expiry = v_lock.next_expiry
    WHERE id = v_lock.id;
    INSERT INTO lock_events (lock_id, lock_name, event_type, host_id, host_name, user_id, user_login, detail, created_at)
    SELECT v_lock.id, v_lock.name, t.event_type, t.host_id, t.host_name, t.user_id, t.user_login, t.detail, v_now
    FROM (SELECT 'expire' AS event_type, h.id AS host_id, h.name AS host_name, NULL::bigint AS user_id,
                 NULL::text AS user_login, NULL::text AS detail, 0 AS part, x.o
          FROM jsonb_array_elements(v_expired) WITH ORDINALITY AS x(e, o) LEFT JOIN hosts h ON h.id = (x.e->>'host_id')::bigint
          UNION ALL
          SELECT 'force_release', f.host_id, f.host_name, p_user_id, p_user_login, p_reason, 1, f.o
          FROM unnest(v_freed_ids, v_freed_names) WITH ORDINALITY AS f(host_id, host_name, o)) AS t
    ORDER BY t.part, t.o;
    IF cardinality(v_freed_ids) > 0 THEN
      INSERT INTO audit_events (event_type, actor_user_id, actor_login, target, detail, address, created_at)
      VALUES ('lock_force_release', p_audit_user_id, p_audit_login, v_lock.name,
              'released ' || array_to_string(v_freed_names, ', ') || ': ' || p_reason, p_audit_address, v_now);
    END IF;
  END IF;

  -- an operator's answer shows the members (countMembers, src/store/members.ts)
  SELECT COUNT(*) INTO v_members FROM lock_members m
  WHERE m.lock_id = v_lock.id AND (m.added_at IS NOT NULL OR m.last_acquired_at >= v_now - v_lock.members_days::bigint * 86400000);
  SELECT COALESCE(jsonb_agg(jsonb_build_object(
      'lock_id', v_lock.id, 'host_id', h.id, 'host_name', h.name,
      'acquired_at', e->'acquired_at', 'refreshed_at', e->'refreshed_at',
      'fencing_token', e->'fencing_token', 'expires_at', e->'expires_at') ORDER BY o), '[]'::jsonb)
  INTO v_holders
  FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, o) JOIN hosts h ON h.id = (e->>'host_id')::bigint;
  v_answer := jsonb_build_object('outcome', CASE WHEN cardinality(v_freed_ids) > 0 THEN 'released' ELSE 'not_held' END,
                                 'now', v_now, 'members', v_members,
                                 'lock', to_jsonb(v_lock) - 'holders', 'holders', v_holders);

  -- runLockOp's signal, as in keyholder_host_rule
  IF v_queued AND (jsonb_array_length(v_list) < v_held_before OR cardinality(v_lapsed) > 0) THEN
    IF v_lock.enabled THEN
      SELECT greatest(0, v_lock.max_holders - COUNT(*)) INTO v_free FROM jsonb_array_elements(v_list) AS t(e)
      WHERE e->>'expires_at' IS NULL OR (e->>'expires_at')::bigint > v_now;
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
