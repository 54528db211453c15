// `keyholder export` / `keyholder import`: backup and restore as one JSON document — also the
// way to move an installation from the embedded SQLite to PostgreSQL.
import type { Command } from 'commander';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ExportDocumentSchema, type ExportDocument } from '../store/backup.js';
import { storeOptions, withStore, type StoreFlags } from './store-options.js';

function readDocument(path: string): ExportDocument {
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not JSON: ${(err as Error).message}`);
  }
  const parsed = ExportDocumentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(
      `${path} is not a keyholder export: ${issue.path.join('.') || '(top level)'}: ${issue.message}`,
    );
  }
  return parsed.data as ExportDocument;
}

export function registerBackupCommands(program: Command): void {
  storeOptions(program.command('export').description('write every lock, host, user, token and event as JSON'))
    .option('-o, --output <file>', 'write to a file (atomically) instead of standard output')
    .action(async (flags: StoreFlags & { output?: string }) => {
      const doc = await withStore(flags, (store) => store.exportData());
      const text = `${JSON.stringify(doc, null, 1)}\n`;
      if (!flags.output) {
        process.stdout.write(text);
        return;
      }
      const partial = `${flags.output}.partial`;
      writeFileSync(partial, text, { mode: 0o600 }); // password and token hashes inside
      renameSync(partial, flags.output);
      const counts = Object.entries(doc.tables).map(([t, rows]) => `${rows.length} ${t}`);
      console.error(`exported ${counts.join(', ')} to ${flags.output}`);
    });

  storeOptions(
    program
      .command('import')
      .argument('<file>', 'a `keyholder export` document, or - for standard input')
      .description('restore an export into a new, empty database'),
  ).action(async (file: string, flags: StoreFlags) => {
    const doc = readDocument(file);
    const counts = await withStore(flags, (store) => store.importData(doc));
    console.log(
      `imported ${Object.entries(counts)
        .map(([t, n]) => `${n} ${t}`)
        .join(', ')}`,
    );
  });
}
