import type { Config } from '../config/config.js';
import { createPgDatabase } from '../db/pg.database.js';
import { DEMO_TENANT, type DemoSeed } from '../services/demo.service.js';
import type { System } from './system.js';

/**
 * Whether this start is the zero-setup experience that gets a demo tenant, a printed key and a
 * generated admin token: DEMO decides when set; otherwise the embedded mode (a one-process trial by
 * nature, `docker run` included) does, a production start on PostgreSQL and Redis never does, and
 * elsewhere a database with no tenant but the demo one (a fresh install, a developer's restart) does.
 */
export async function demoWanted(config: Config, embedded: boolean): Promise<boolean> {
  if (config.demo !== null) return config.demo;
  if (embedded) return true;
  if (config.env === 'production') return false;
  // Asked before the system starts, since the admin token it may generate is part of its config.
  const db = createPgDatabase(config.databaseUrl, { applicationName: 'mailsystem-start', max: 1 });
  try {
    const { rows } = await db.query('SELECT 1 FROM tenants WHERE id <> $1 LIMIT 1', [DEMO_TENANT]);
    return rows.length === 0;
  } catch {
    return true; // not migrated yet: an empty database
  } finally {
    await db.close();
  }
}

/**
 * Makes sure a demo tenant with a welcome template exists and returns its API key, so that a new
 * user can send right after `npm start` (src/services/demo.service.ts).
 */
export const seedDemo = (system: System): Promise<DemoSeed> => system.services.demo.seed();
