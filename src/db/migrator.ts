import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
// Any fixed number: every process that migrates takes the same lock, so concurrent starts
// (several api and worker processes) apply each file exactly once.
const MIGRATION_LOCK_KEY = 4_242_001;

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

/**
 * Applies `migrations/NNN_name.sql` in name order, all of them in one transaction under an
 * advisory lock (so two processes starting at once apply each file once, and a failing file
 * leaves the schema as it was), recording name and checksum in `schema_migrations`. Safe to
 * re-run; refuses to go on when an applied file changed.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f)).sort();
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map(
      (
        await tx.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')
      ).rows.map((r) => [r.name, r.checksum]),
    );
    const result: MigrationResult = { applied: [], skipped: [] };
    for (const file of files) {
      const sql = await readFile(join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const previous = done.get(file);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new Error(`Migration ${file} was changed after it was applied; add a new migration instead`);
        }
        result.skipped.push(file);
        continue;
      }
      await tx.query(sql);
      await tx.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum]);
      result.applied.push(file);
    }
    return result;
  });
}
