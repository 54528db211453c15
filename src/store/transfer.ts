// A whole database out and in (`keyholder backup`, restore): the export document around the
// tables (src/store/backup.ts), and its import into an empty database.
import {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  assertEmpty,
  documentProblems,
  exportTables,
  importTables,
  type ExportDocument,
} from './backup.js';
import type { Queryable, Tx } from './sql.js';

/** Every table, read on one consistent view. */
export async function exportDocument(q: Queryable): Promise<ExportDocument> {
  const tables = await exportTables(q);
  return { format: EXPORT_FORMAT, version: EXPORT_VERSION, exported_at: new Date().toISOString(), tables };
}

/** Refused before any transaction when the document is not one this version can import. */
export function assertImportable(doc: ExportDocument): void {
  const problems = documentProblems(doc);
  if (problems.length) throw new Error(`the export cannot be imported: ${problems.join('; ')}`);
}

/** The document's rows, into a database that must be empty; the rows written, by table. */
export async function importDocument(tx: Tx, doc: ExportDocument): Promise<Record<string, number>> {
  await assertEmpty(tx);
  return importTables(tx, doc.tables);
}
