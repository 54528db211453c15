// src/store has no import cycle (DESIGN.md "Layout": store.ts holds the interfaces and imports
// nothing back; the family files import it, never the reverse). Type-only imports count too:
// a cycle of types is the same tangle to read. TypeScript's own import scanner, no type check.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

/** Each file's relative imports and re-exports inside `files`, as paths like the keys. */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((f) => f.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => path.resolve(path.dirname(file), name.replace(/\.js$/, '.ts')))
      .filter((target) => known.has(target));
    graph.set(file, targets);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the files around it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found.map((c) => c.map((f) => path.relative(ROOT, f)));
}

describe('src/store imports', () => {
  it('form no cycle', () => {
    expect(cycles(importGraph(sourceFiles(path.join(ROOT, 'src/store'))))).toEqual([]);
  });

  it('store.ts imports no file of the store that imports it', () => {
    const graph = importGraph(sourceFiles(path.join(ROOT, 'src/store')));
    const storeTs = path.join(ROOT, 'src/store/store.ts');
    const importers = [...graph].filter(([, targets]) => targets.includes(storeTs)).map(([f]) => f);
    expect(importers.length).toBeGreaterThan(5);
    expect(graph.get(storeTs)!.filter((t) => importers.includes(t))).toEqual([]);
  });

  it('would report a cycle', () => {
    const a = path.join(ROOT, 'a.ts');
    const b = path.join(ROOT, 'b.ts');
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, [a]],
        ]),
      ),
    ).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });
});
