import type { Config } from '../config/config.js';
import { createPgDatabase } from '../db/pg.database.js';
import type { System } from './system.js';

const DEMO_TENANT = 'demo';
const DEMO_KEY_NAME = 'npm start';

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
 * Makes sure a demo tenant with a welcome template exists and returns a fresh API key for it, so
 * that a new user can send right after `npm start`. The keys of earlier starts are deleted: one
 * printed key works at a time, and restarts do not pile keys up.
 */
export async function seedDemo(
  system: System,
): Promise<{ tenantId: string; apiKey: string; templateId: string }> {
  const { tenancy, templates, repos } = system.services;
  if (!(await repos.tenants.get(DEMO_TENANT))) {
    await tenancy.createTenant({ id: DEMO_TENANT, name: 'Demo tenant' });
  }
  const existing = await templates.list(DEMO_TENANT, 50, null);
  const welcome =
    existing.find((t) => t.name === 'welcome') ??
    (await templates.create(DEMO_TENANT, {
      name: 'welcome',
      subject_template: 'Welcome {{ name }}',
      html_template: '<h1>Hello {{ name }}</h1><p>Thanks for trying Mailsystem.</p>',
    }));
  await repos.apiKeys.deleteNamed(DEMO_TENANT, DEMO_KEY_NAME);
  // Cached lookups of the deleted keys expire within the auth cache's lifetime.
  const key = await tenancy.createApiKey(DEMO_TENANT, `${DEMO_KEY_NAME} ${new Date().toISOString()}`);
  return { tenantId: DEMO_TENANT, apiKey: key.key, templateId: welcome.id };
}
