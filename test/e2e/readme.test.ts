// The README's "Try it" commands, run as printed against a fresh `keyholder server` in an
// empty directory (only the port differs: the test cannot count on 8443 being free).
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, startServerProcess, type ServerProcess } from '../support/process.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

function shellBlockAfter(marker: string): string[] {
  const at = README.indexOf(marker);
  expect(at, marker).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(at))!;
  return block[1]!.trim().split('\n');
}

describe('the README quick start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-readme-'));
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works verbatim against a fresh server', async () => {
    // `npm start` = `keyholder server` with no configuration at all
    server = await startServerProcess({ KEYHOLDER_PORT: '0' }, [], dir);
    const password = /admin user: admin {2}password: (\S+)/.exec(server.output())?.[1];
    expect(password, server.output()).toBeDefined();
    const run = (line: string) =>
      execSync(
        line
          .replace(/^npx keyholder /, `"${process.execPath}" "${CLI}" `)
          .replaceAll('https://localhost:8443', `https://localhost:${server!.port}`),
        {
          cwd: dir,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH ?? '', ADMIN_PW: password! },
        },
      );

    const [issue, acquire, show, release] = shellBlockAfter('In a second terminal');
    expect(run(issue!)).toContain('web01.example.com.crt');
    const acquired = JSON.parse(run(acquire!));
    expect(acquired).toMatchObject({ name: 'test', host: { name: 'web01.example.com', self: true } });
    expect(Object.keys(acquired)).toEqual(
      Object.keys(JSON.parse(README.split('```json\n')[1]!.split('```')[0]!)),
    );
    expect(JSON.parse(run(show!)).host).toEqual({ name: 'web01.example.com', self: true });
    expect(JSON.parse(run(release!)).host).toBeNull();

    const [list] = shellBlockAfter('The admin API takes HTTP Basic');
    run(acquire!);
    const index = JSON.parse(run(list!));
    expect(index).toMatchObject({ total: 1, subtotal: 1, search: 'locked = true' });
    expect(index.results[0].name).toBe('test');
  });
});
