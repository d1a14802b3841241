import { mkdir } from 'node:fs/promises';
import { PGlite, types } from '@electric-sql/pglite';
import { withTimeout } from '../lib/time.js';
import type { Database, Queryable, QueryResult } from './database.js';

/**
 * An embedded PostgreSQL (PGlite, PostgreSQL compiled to WebAssembly) behind the Database port,
 * for the zero-setup mode: one process, data in a directory, nothing to install.
 *
 * PGlite has one session, so statements run one at a time and a transaction holds the database
 * until it ends; there is only this process, so `withLock` is a lock in memory.
 */
export async function createPgliteDatabase(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({
    dataDir,
    // As the pg adapter does: int8 counts and ids as numbers (they stay far below 2^53).
    parsers: { [types.INT8]: (v: string) => Number.parseInt(v, 10) },
  });

  const toResult = <R>(res: { rows: unknown[]; affectedRows?: number }): QueryResult<R> => ({
    rows: res.rows.map(asBuffers) as R[],
    rowCount: res.affectedRows ?? res.rows.length,
  });
  const run = async <R>(q: Pick<PGlite, 'query' | 'exec'>, sql: string, params?: readonly unknown[]) => {
    // Migrations are several statements without parameters: those go through exec().
    if (params === undefined || params.length === 0) {
      const results = await q.exec(sql);
      const last = results[results.length - 1];
      return toResult<R>(last ?? { rows: [] });
    }
    return toResult<R>(await q.query(sql, params as unknown[]));
  };
  const held = new Set<number>();

  return {
    query: (sql, params) => run(db, sql, params),
    // One connection, planned as PGlite's defaults have it: nothing to keep apart.
    queryKeptPlans: (sql, params) => run(db, sql, params),
    transaction: (fn) =>
      db.transaction(async (tx) => {
        const q: Queryable = { query: (sql, params) => run(tx, sql, params) };
        return fn(q);
      }),
    async withLock(key, fn) {
      if (held.has(key)) return null;
      held.add(key);
      try {
        return await fn();
      } finally {
        held.delete(key);
      }
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(db.query('SELECT 1'), timeoutMs, 'the embedded database did not answer');
    },
    async close() {
      await db.close();
    },
  };
}

/** PGlite returns bytea as Uint8Array; the rest of the code (like `pg`) expects Buffers. */
function asBuffers(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return row;
  const r = row as Record<string, unknown>;
  for (const [k, v] of Object.entries(r)) {
    if (v instanceof Uint8Array && !Buffer.isBuffer(v))
      r[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }
  return r;
}
