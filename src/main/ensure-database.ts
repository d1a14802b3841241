import pg from 'pg';
import type { Logger } from '../lib/logger.js';

/**
 * `npm start` on a fresh machine: create the database named in DATABASE_URL when the server is
 * there but the database is not (PostgreSQL answers 3D000). Anything else is left to the caller.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const probe = new pg.Client({ connectionString: url });
  try {
    await probe.connect();
    return false;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') throw e;
  } finally {
    await probe.end().catch(() => {});
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') throw e; // created meanwhile by another process
  } finally {
    await client.end();
  }
  return true;
}

/** Errors that say the server is not there (yet), as opposed to a configuration mistake. */
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin shutdown
  '57P02', // crash shutdown
  '57P03', // cannot connect now (starting up, shutting down)
]);

/**
 * ensureDatabase, waiting for a PostgreSQL that is restarting or not up yet instead of exiting:
 * a process started while the database is away (a compose start, a failover) comes up when it
 * does. A configuration mistake (bad password, unknown host) still fails at once.
 */
export async function waitForDatabase(
  url: string,
  logger: Logger,
  opts: { create: boolean } = { create: true },
): Promise<boolean> {
  let delay = 250;
  let warned = false;
  for (;;) {
    try {
      const created = opts.create ? await ensureDatabase(url) : await probe(url);
      if (warned) logger.info('PostgreSQL answers; starting');
      return created;
    } catch (e) {
      const code = (e as { code?: string }).code;
      const terminated = e instanceof Error && /Connection terminated/i.test(e.message);
      if (!terminated && (code === undefined || !UNAVAILABLE.has(code))) throw e;
      if (!warned)
        logger.warn({ code: code ?? 'terminated' }, 'PostgreSQL does not answer yet; waiting for it');
      warned = true;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** Connects once (no database is created); false, like ensureDatabase when nothing was created. */
async function probe(url: string): Promise<false> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  try {
    await client.connect();
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
