import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrator.js';
import { createPgDatabase } from '../../src/db/pg.database.js';
import { dbUrl, TEST_DB_TEMPLATE } from './env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/** Runs older than this are leftovers of an interrupted run; their databases are dropped. */
const STALE_AFTER_SECONDS = 3 * 3600;

/**
 * Builds this run's template database once, migrated: `mailsystem_test_r<epoch>_<random>`. Each
 * test file then clones it (CREATE DATABASE … TEMPLATE), so files never share rows, advisory locks
 * or recovery loops, and two runs on one machine never touch each other's databases.
 */
export default async function setup(project: TestProject) {
  // CI creates a fresh, empty database and names it in TEST_TEMPLATE_DB; the suite migrates it and
  // uses it as the template (and leaves it in place).
  const given = process.env.TEST_TEMPLATE_DB;
  const run =
    given ?? `${TEST_DB_TEMPLATE}_r${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
  await withAdmin(async (c) => {
    await dropDatabases(c, (name) => {
      const m = new RegExp(`^${TEST_DB_TEMPLATE}_r(\\d+)_`).exec(name);
      return m !== null && Number(m[1]) < Date.now() / 1000 - STALE_AFTER_SECONDS;
    });
    if (!given) await c.query(`CREATE DATABASE "${run}"`);
  });
  const db = createPgDatabase(dbUrl(run), { max: 1 });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  project.provide('templateDatabase', run);
  return async () => {
    await withAdmin((c) =>
      dropDatabases(c, (name) => (name === run && !given) || name.startsWith(`${run}_`), run),
    );
  };
}

async function withAdmin(fn: (c: pg.Client) => Promise<void>) {
  const c = new pg.Client({ connectionString: dbUrl('postgres') });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

/** Drops the suite's own databases that `which` selects; never anything outside the suite's prefix. */
async function dropDatabases(c: pg.Client, which: (name: string) => boolean, prefix = TEST_DB_TEMPLATE) {
  const { rows } = await c.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2',
    [prefix, `${prefix.replace(/_/g, '\\_')}\\_%`],
  );
  for (const { datname } of rows) {
    if (which(datname)) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}
