// The man pages made from the command definitions: each renders with man(1) and groff without
// a warning, and every command of the commander tree — with its options — is in them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { allCommands, commandTree } from '../../src/cli/command-tree.js';
import { manPages, roffText } from '../../src/cli/man.js';
import { buildProgram } from '../../src/cli/program.js';
import { haveTool, run } from '../support/tools.js';

const program = buildProgram();
const pages = manPages(program);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(inject('tmpRoot'), 'man-'));
  for (const p of pages) writeFileSync(join(dir, p.file), p.text);
});

describe.skipIf(!haveTool('man', 'man-db') || !haveTool('groff', 'groff-base'))('man pages', () => {
  const env = { ...process.env, MANWIDTH: '80', LC_ALL: 'C.UTF-8', MAN_KEEP_FORMATTING: '' };
  const rendered = new Map<string, { text: string; warnings: string; status: number | null }>();
  beforeAll(() => {
    for (const p of pages) {
      const viaMan = run('man', ['--warnings', '-l', join(dir, p.file)], { env });
      rendered.set(p.file, { text: viaMan.stdout, warnings: viaMan.stderr, status: viaMan.status });
    }
  });
  const text = (file: string) => rendered.get(file)!.text;

  it('render with man and groff without warnings', () => {
    for (const p of pages) {
      expect(rendered.get(p.file)!.warnings, p.file).toBe('');
      expect(rendered.get(p.file)!.status, p.file).toBe(0);
      const viaGroff = run('groff', ['-man', '-Tutf8', '-ww', '-z', join(dir, p.file)]);
      expect(viaGroff.stderr, p.file).toBe('');
    }
    expect(text('keyholder.1')).toMatch(/^NAME\n\s+keyholder - Distributed lock manager/m);
  });

  it('show every command of the tree with its options, one page per top-level command', () => {
    const root = commandTree(program);
    expect(pages.map((p) => p.file).sort()).toEqual(
      ['keyholder.1', ...root.subcommands.map((c) => `keyholder-${c.name}.1`)].sort(),
    );
    const overview = text('keyholder.1');
    for (const top of root.subcommands) {
      expect(overview).toContain(`keyholder ${top.name}`);
      expect(overview).toContain(`keyholder-${top.name}(1)`);
      const page = text(`keyholder-${top.name}.1`).replace(/\s+/g, ' ');
      for (const c of allCommands(top)) {
        expect(page, c.path.join(' ')).toContain(c.path.join(' '));
        for (const o of c.options) expect(page, `${c.path.join(' ')} ${o.flags}`).toContain(o.flags);
      }
    }
    // the hidden generator itself is no command a reader is shown
    expect(pages.map((p) => text(p.file)).join('\n')).not.toContain('man-pages');
  });
});

describe('roff text', () => {
  it('keeps text literal: requests, backslashes, hyphens and non-ASCII', () => {
    expect(roffText(".TH x\n'quoted\na\\b -- c")).toBe("\\&.TH x\n\\&'quoted\na\\eb \\-\\- c");
    expect(roffText('wait… — done')).toBe('wait\\[u2026] \\[u2014] done');
  });
});
