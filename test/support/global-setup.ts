import pg from 'pg';
import { migrate } from '../../src/db/migrator.js';
import { createPgDatabase } from '../../src/db/pg.database.js';
import { dbUrl, TEST_DB_TEMPLATE } from './env.js';

/**
 * Builds the test template database once per run: `mailsystem_test`, dropped and re-created,
 * migrated. Each test file then clones it (CREATE DATABASE … TEMPLATE), so files never share rows,
 * advisory locks or recovery loops.
 */
export default async function setup() {
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  try {
    await dropTestDatabases(admin);
    await admin.query(`CREATE DATABASE ${TEST_DB_TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const db = createPgDatabase(dbUrl(TEST_DB_TEMPLATE), { max: 1 });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  return async () => {
    const c = new pg.Client({ connectionString: dbUrl('postgres') });
    await c.connect();
    try {
      await dropTestDatabases(c, false);
    } finally {
      await c.end();
    }
  };
}

/** Drops the databases this suite creates (the template and its clones), nothing else. */
async function dropTestDatabases(c: pg.Client, includeTemplate = true) {
  const { rows } = await c.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
    [TEST_DB_TEMPLATE, `${TEST_DB_TEMPLATE}\\_%`],
  );
  for (const { datname } of rows) {
    if (!includeTemplate && datname === TEST_DB_TEMPLATE) continue;
    await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}
