import { randomBytes } from 'node:crypto';
import type { Queryable } from './database.js';

/**
 * A secret the system makes for itself when none is configured: created once (the first process
 * to ask wins), then the same for every process and across restarts.
 */
export async function systemSecret(db: Queryable, name: string, bytes = 32): Promise<Buffer> {
  await db.query('INSERT INTO system_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
    name,
    randomBytes(bytes),
  ]);
  const { rows } = await db.query<{ value: Buffer }>('SELECT value FROM system_secrets WHERE name = $1', [
    name,
  ]);
  const value = rows[0]?.value;
  if (!value) throw new Error(`system secret ${name} is missing`);
  return value;
}

/** Forgets a system secret, so that the next `systemSecret` call makes a new one. */
export async function forgetSystemSecret(db: Queryable, name: string): Promise<void> {
  await db.query('DELETE FROM system_secrets WHERE name = $1', [name]);
}
