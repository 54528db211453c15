// One PostgreSQL cluster for the whole run, with a migrated template database that every test
// clones (CREATE DATABASE … TEMPLATE), so each test gets its own database in milliseconds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { startPgCluster, type PgCluster } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgBaseUrl: string;
    /** a temp folder for this run, removed at the end */
    tmpRoot: string;
  }
}

let cluster: PgCluster | undefined;
let tmpRoot: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  cluster = await startPgCluster();
  cluster.psql('CREATE DATABASE keyholder_template');
  const store = new PostgresStore({ url: cluster.url('keyholder_template') });
  await store.migrate();
  await store.close();
  project.provide('pgBaseUrl', cluster.url(''));
  tmpRoot = mkdtempSync(join(tmpdir(), 'keyholder-run-'));
  project.provide('tmpRoot', tmpRoot);
}

export async function teardown(): Promise<void> {
  cluster?.stop();
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
}
