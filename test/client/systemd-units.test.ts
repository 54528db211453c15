// The shipped systemd units: restarted on "server unreachable" (exit 3) after a pause, never on
// the exit codes that would only fail again, and the boot-time resume does not hold up the boot.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_ERROR, EXIT_LOCK_LOST, EXIT_UNAVAILABLE, EXIT_UNREACHABLE } from '../../client/src/errors.js';
import { ROOT } from './support/bundle.js';

function unitSettings(file: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of readFileSync(path.join(ROOT, 'contrib/systemd', file), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  return settings;
}

describe.each(['keyholder-update.service', 'keyholder-resume.service'])('%s', (file) => {
  const unit = unitSettings(file);
  const codes = (key: string) => (unit.get(key) ?? []).flatMap((v) => v.split(/\s+/)).map(Number);

  it('restarts after a pause when the server was unreachable, not on codes that would fail again', () => {
    expect(unit.get('Restart')).toEqual(['on-failure']);
    expect(unit.get('RestartSec')?.[0]).toMatch(/^\d+(min|s)$/);
    expect(codes('RestartForceExitStatus')).toContain(EXIT_UNREACHABLE);
    expect(codes('RestartPreventExitStatus')).not.toContain(EXIT_UNREACHABLE);
    for (const code of [EXIT_UNAVAILABLE, EXIT_ERROR, EXIT_LOCK_LOST]) {
      expect(codes('RestartPreventExitStatus')).toContain(code);
    }
    expect(unit.get('StartLimitIntervalSec')).toEqual(['0']);
  });
});

describe('keyholder-resume.service', () => {
  it('does not hold up the boot: not a oneshot that multi-user.target would wait for', () => {
    const unit = unitSettings('keyholder-resume.service');
    expect(unit.get('Type')).toEqual(['exec']);
    expect(unit.get('WantedBy')).toEqual(['multi-user.target']);
    expect(unit.get('ExecStart')?.[0]).toMatch(/ update --resume$/);
  });
});
