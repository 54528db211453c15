// One PostgreSQL cluster for the whole run, with a migrated template database that every test
// clones (CREATE DATABASE … TEMPLATE), so each test gets its own database in milliseconds.
import type { TestProject } from 'vitest/node';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { startPgCluster, type PgCluster } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgBaseUrl: string;
  }
}

let cluster: PgCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  cluster = await startPgCluster();
  cluster.psql('CREATE DATABASE keyholder_template');
  const store = new PostgresStore({ url: cluster.url('keyholder_template') });
  await store.migrate();
  await store.close();
  project.provide('pgBaseUrl', cluster.url(''));
}

export async function teardown(): Promise<void> {
  cluster?.stop();
}
