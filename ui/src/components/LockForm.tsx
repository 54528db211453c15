// Create a lock, or edit one: name, how many may hold it (a number or a share of its members),
// the lease, weekly and calendar windows, blackouts, a pause, the parent lock and health gates. Operators and admins only; the server checks every field and its 422 is shown.
import {
  ActionGroup,
  Alert,
  Button,
  Checkbox,
  Form,
  FormGroup,
  FormSelect,
  FormSelectOption,
  Modal,
  ModalBody,
  ModalHeader,
  TextArea,
  TextInput,
} from '@patternfly/react-core';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, explain, lockPath, type Blackout, type Lock, type Window } from '../api';
import { parseApiTime } from '../format';
import { useCan } from '../session';

const GATE_EXAMPLE = '[{"name": "api-up", "type": "http", "url": "https://api.example.com/health"}]';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** the browser's zone when it names a real one (headless browsers may say Etc/Unknown) */
const localZone = () => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && zone.includes('/') && zone !== 'Etc/Unknown' ? zone : 'UTC';
};

type Rule = 'weekly' | 'nth' | 'dom';

function ruleOf(w: Window): Rule {
  return w.nth_weekday ? 'nth' : w.days_of_month ? 'dom' : 'weekly';
}

/** The same window with another day rule (a window has exactly one). */
function withRule(w: Window, rule: Rule): Window {
  const { start, duration_minutes, time_zone } = w;
  const base = { start, duration_minutes, time_zone };
  if (rule === 'nth') return { ...base, nth_weekday: { nth: 2, day: 'tue' } };
  if (rule === 'dom') return { ...base, days_of_month: [1] };
  return { ...base, days: ['sat'] };
}

interface Draft {
  name: string;
  /** a number, or a percentage of the lock's members ("10%") */
  maxHolders: string;
  lease: string;
  windows: Window[];
  blackouts: Blackout[];
  /** local date and time (datetime-local), empty: not paused */
  pausedUntil: string;
  pauseReason: string;
  parent: string;
  /** the gates as JSON text; the server checks them and says what is wrong */
  gates: string;
}

/** `2026-12-24 18:00:00 UTC` → the browser's local `2026-12-24T19:00` for datetime-local */
function localInput(apiTime: string | null | undefined): string {
  if (!apiTime) return '';
  const d = parseApiTime(apiTime);
  if (Number.isNaN(d.getTime())) return '';
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

function draftOf(lock?: Lock): Draft {
  return {
    name: lock?.name ?? '',
    maxHolders: String(lock?.max_holders_rule ?? lock?.max_holders ?? 1),
    lease: lock?.lease_seconds == null ? '' : String(lock.lease_seconds),
    windows: lock?.windows ? lock.windows.map((w) => structuredClone(w)) : [],
    blackouts: lock?.blackouts ? lock.blackouts.map((b) => ({ ...b })) : [],
    pausedUntil: localInput(lock?.paused_until),
    pauseReason: lock?.pause_reason ?? '',
    parent: lock?.parent ?? '',
    gates: lock?.gates && lock.gates.length > 0 ? JSON.stringify(lock.gates, null, 2) : '',
  };
}

/** The request body; throws with a message when the gates are not JSON (the rest the server checks). */
function bodyOf(d: Draft, lock?: Lock) {
  let gates: unknown = [];
  if (d.gates.trim() !== '') {
    try {
      gates = JSON.parse(d.gates);
    } catch (err) {
      throw new Error(`Gates: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const maxHolders = d.maxHolders.trim();
  const parent = d.parent.trim();
  return {
    dlmlock: {
      name: d.name.trim(),
      max_holders: /^\d+(\.\d+)?\s*%$/.test(maxHolders) ? maxHolders.replace(/\s+/g, '') : Number(maxHolders),
      lease_seconds: d.lease.trim() === '' ? null : Number(d.lease),
      windows: d.windows.map((w) => ({ ...w, duration_minutes: Number(w.duration_minutes) })),
      blackouts: d.blackouts.map((b) => (b.reason ? b : { from: b.from, to: b.to, time_zone: b.time_zone })),
      paused_until: d.pausedUntil ? new Date(d.pausedUntil).toISOString() : null,
      pause_reason: d.pausedUntil && d.pauseReason.trim() ? d.pauseReason.trim() : null,
      gates,
      // only servers with nested locks know `parent`: sent when set, or to clear one
      ...(parent !== '' || lock?.parent ? { parent: parent === '' ? null : parent } : {}),
    },
  };
}

export function CreateLockButton() {
  const operator = useCan('operator');
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  if (!operator) return null;
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)}>
        Create lock
      </Button>
      {open && (
        <LockFormModal
          title="Create a lock"
          submitLabel="Create"
          onClose={() => setOpen(false)}
          onSubmit={async (body) => {
            const lock = await api<Lock>('POST', '/api/dlmlocks', body);
            navigate(`/locks/${lock.id}`);
          }}
        />
      )}
    </>
  );
}

export function EditLockButton({ lock, onSaved }: { lock: Lock; onSaved(): void }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="secondary" onClick={() => setOpen(true)}>
        Edit
      </Button>
      {open && (
        <LockFormModal
          title={`Edit ${lock.name}`}
          submitLabel="Save"
          lock={lock}
          onClose={() => setOpen(false)}
          onSubmit={async (body) => {
            await api<Lock>('PUT', lockPath(lock.id), body);
            onSaved();
          }}
        />
      )}
    </>
  );
}

interface ModalProps {
  title: string;
  submitLabel: string;
  lock?: Lock;
  onClose(): void;
  onSubmit(body: ReturnType<typeof bodyOf>): Promise<void>;
}

function LockFormModal({ title, submitLabel, lock, onClose, onSubmit }: ModalProps) {
  const [d, setD] = useState(() => draftOf(lock));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<Draft>) => setD((prev) => ({ ...prev, ...patch }));
  const setWindow = (i: number, patch: Partial<Window>) =>
    set({ windows: d.windows.map((w, j) => (j === i ? { ...w, ...patch } : w)) });
  const setBlackout = (i: number, patch: Partial<Blackout>) =>
    set({ blackouts: d.blackouts.map((b, j) => (j === i ? { ...b, ...patch } : b)) });

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit(bodyOf(d, lock));
      onClose();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal variant="medium" isOpen onClose={onClose} aria-labelledby="lock-form-title">
      <ModalHeader title={title} labelId="lock-form-title" />
      <ModalBody>
        <Form onSubmit={(e) => void submit(e)} data-testid="lock-form">
          <FormGroup label="Name" isRequired fieldId="lock-name">
            <TextInput id="lock-name" isRequired value={d.name} onChange={(_e, v) => set({ name: v })} />
          </FormGroup>
          <FormGroup
            label="Holders allowed at once (max_holders): a number, or a share of the members such as 10%"
            fieldId="lock-max-holders"
          >
            <TextInput
              id="lock-max-holders"
              inputMode="numeric"
              value={d.maxHolders}
              onChange={(_e, v) => set({ maxHolders: v })}
            />
          </FormGroup>
          <FormGroup
            label="Parent lock (a holder also takes a slot in it; empty: none)"
            fieldId="lock-parent"
          >
            <TextInput id="lock-parent" value={d.parent} onChange={(_e, v) => set({ parent: v })} />
          </FormGroup>
          <FormGroup label="Lease in seconds (empty: no lease)" fieldId="lock-lease">
            <TextInput
              id="lock-lease"
              type="number"
              min={1}
              value={d.lease}
              onChange={(_e, v) => set({ lease: v })}
            />
          </FormGroup>
          <FormGroup label="Maintenance windows (none: always open)" fieldId="lock-windows" role="group">
            {d.windows.map((w, i) => (
              <fieldset key={i} className="kh-window" data-testid="window">
                <legend>Window {i + 1}</legend>
                <FormSelect
                  id={`window-${i}-rule`}
                  aria-label={`Window ${i + 1} repeats`}
                  value={ruleOf(w)}
                  onChange={(_e, rule) =>
                    set({ windows: d.windows.map((x, j) => (j === i ? withRule(w, rule as Rule) : x)) })
                  }
                >
                  <FormSelectOption value="weekly" label="every week on" />
                  <FormSelectOption value="nth" label="every month on the n-th weekday" />
                  <FormSelectOption value="dom" label="every month on days" />
                </FormSelect>
                {w.days && (
                  <div className="kh-days">
                    {DAYS.map((day) => (
                      <Checkbox
                        key={day}
                        id={`window-${i}-${day}`}
                        label={day}
                        isChecked={w.days!.includes(day)}
                        onChange={(_e, on) =>
                          setWindow(i, {
                            days: on
                              ? DAYS.filter((x) => x === day || w.days!.includes(x))
                              : w.days!.filter((x) => x !== day),
                          })
                        }
                      />
                    ))}
                  </div>
                )}
                {w.nth_weekday && (
                  <div className="kh-window-times">
                    <FormSelect
                      id={`window-${i}-nth`}
                      aria-label={`Window ${i + 1} which weekday of the month`}
                      value={String(w.nth_weekday.nth)}
                      onChange={(_e, v) =>
                        setWindow(i, { nth_weekday: { ...w.nth_weekday!, nth: Number(v) } })
                      }
                    >
                      {[1, 2, 3, 4, -1].map((n) => (
                        <FormSelectOption key={n} value={String(n)} label={n === -1 ? 'last' : `${n}.`} />
                      ))}
                    </FormSelect>
                    <FormSelect
                      id={`window-${i}-nth-day`}
                      aria-label={`Window ${i + 1} weekday`}
                      value={w.nth_weekday.day}
                      onChange={(_e, v) => setWindow(i, { nth_weekday: { ...w.nth_weekday!, day: v } })}
                    >
                      {DAYS.map((d) => (
                        <FormSelectOption key={d} value={d} label={d} />
                      ))}
                    </FormSelect>
                  </div>
                )}
                {w.days_of_month && (
                  <TextInput
                    id={`window-${i}-dom`}
                    aria-label={`Window ${i + 1} days of the month (e.g. 1, 15)`}
                    value={w.days_of_month.join(', ')}
                    onChange={(_e, v) =>
                      setWindow(i, {
                        days_of_month: v
                          .split(/[\s,]+/)
                          .filter(Boolean)
                          .map(Number),
                      })
                    }
                  />
                )}
                <div className="kh-window-times">
                  <TextInput
                    aria-label={`Window ${i + 1} start (HH:MM)`}
                    id={`window-${i}-start`}
                    type="time"
                    value={w.start}
                    onChange={(_e, v) => setWindow(i, { start: v })}
                  />
                  <TextInput
                    aria-label={`Window ${i + 1} duration in minutes`}
                    id={`window-${i}-duration`}
                    type="number"
                    min={1}
                    value={String(w.duration_minutes)}
                    onChange={(_e, v) => setWindow(i, { duration_minutes: Number(v) })}
                  />
                  <TextInput
                    aria-label={`Window ${i + 1} time zone`}
                    id={`window-${i}-zone`}
                    value={w.time_zone}
                    onChange={(_e, v) => setWindow(i, { time_zone: v })}
                  />
                  <Button
                    variant="link"
                    isDanger
                    onClick={() => set({ windows: d.windows.filter((_, j) => j !== i) })}
                  >
                    Remove
                  </Button>
                </div>
              </fieldset>
            ))}
            <Button
              variant="link"
              onClick={() =>
                set({
                  windows: [
                    ...d.windows,
                    { days: ['sat'], start: '02:00', duration_minutes: 120, time_zone: localZone() },
                  ],
                })
              }
            >
              Add a window
            </Button>
          </FormGroup>
          <FormGroup
            label="Blackouts (whole local days without new holders)"
            fieldId="lock-blackouts"
            role="group"
          >
            {d.blackouts.map((b, i) => (
              <div key={i} className="kh-window-times" data-testid="blackout">
                <TextInput
                  aria-label={`Blackout ${i + 1} first day`}
                  id={`blackout-${i}-from`}
                  type="date"
                  value={b.from}
                  onChange={(_e, v) => setBlackout(i, { from: v })}
                />
                <TextInput
                  aria-label={`Blackout ${i + 1} last day`}
                  id={`blackout-${i}-to`}
                  type="date"
                  value={b.to}
                  onChange={(_e, v) => setBlackout(i, { to: v })}
                />
                <TextInput
                  aria-label={`Blackout ${i + 1} time zone`}
                  id={`blackout-${i}-zone`}
                  value={b.time_zone}
                  onChange={(_e, v) => setBlackout(i, { time_zone: v })}
                />
                <TextInput
                  aria-label={`Blackout ${i + 1} reason`}
                  id={`blackout-${i}-reason`}
                  placeholder="reason"
                  value={b.reason ?? ''}
                  onChange={(_e, v) => setBlackout(i, { reason: v })}
                />
                <Button
                  variant="link"
                  isDanger
                  onClick={() => set({ blackouts: d.blackouts.filter((_, j) => j !== i) })}
                >
                  Remove
                </Button>
              </div>
            ))}
            <Button
              variant="link"
              onClick={() => {
                const today = new Date().toISOString().slice(0, 10);
                set({ blackouts: [...d.blackouts, { from: today, to: today, time_zone: localZone() }] });
              }}
            >
              Add a blackout
            </Button>
          </FormGroup>
          <FormGroup label="Paused until (your local time; empty: not paused)" fieldId="lock-paused-until">
            <div className="kh-window-times">
              <TextInput
                id="lock-paused-until"
                type="datetime-local"
                value={d.pausedUntil}
                onChange={(_e, v) => set({ pausedUntil: v })}
              />
              <TextInput
                id="lock-pause-reason"
                aria-label="Pause reason"
                placeholder="reason"
                value={d.pauseReason}
                onChange={(_e, v) => set({ pauseReason: v })}
              />
            </div>
          </FormGroup>
          <FormGroup label="Health gates (JSON list; empty: none)" fieldId="lock-gates">
            <TextArea
              id="lock-gates"
              resizeOrientation="vertical"
              rows={d.gates ? 6 : 2}
              className="kh-mono"
              placeholder={GATE_EXAMPLE}
              value={d.gates}
              onChange={(_e, v) => set({ gates: v })}
            />
          </FormGroup>
          {error && <Alert variant="danger" isInline title={error} data-testid="form-error" />}
          <ActionGroup>
            <Button type="submit" variant="primary" isLoading={busy} isDisabled={busy}>
              {submitLabel}
            </Button>
            <Button variant="link" onClick={onClose}>
              Cancel
            </Button>
          </ActionGroup>
        </Form>
      </ModalBody>
    </Modal>
  );
}
