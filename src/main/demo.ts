import { createHmac } from 'node:crypto';
import type { Config } from '../config/config.js';
import { createPgDatabase } from '../db/pg.database.js';
import { forgetSystemSecret, systemSecret } from '../db/system-secrets.repository.js';
import { newId } from '../lib/ids.js';
import { hashApiKey } from '../services/tenancy.service.js';
import type { System } from './system.js';

const DEMO_TENANT = 'demo';
const DEMO_KEY_NAME = 'npm start';
const DEMO_KEY_SECRET = 'demo-api-key';

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
 * The demo tenant's one key: derived from a secret the system keeps, so every start prints the
 * same key (a restart does not break a client using it) and restarts add no keys. Keys that
 * earlier versions made on every start are deleted; a key an admin revoked is replaced by a new one.
 */
async function demoKey(system: System): Promise<string> {
  const { db } = system;
  const { apiKeys } = system.services.repos;
  for (let attempt = 0; attempt < 2; attempt++) {
    const secret = await systemSecret(db, DEMO_KEY_SECRET);
    const key = `ms_${createHmac('sha256', secret).update('demo api key').digest('base64url')}`;
    const hash = hashApiKey(key);
    const state = await apiKeys.stateByHash(hash);
    if (state === 'live') return key;
    if (state === null) {
      await apiKeys.deleteNamed(DEMO_TENANT, DEMO_KEY_NAME);
      await apiKeys.create({
        id: newId(),
        tenantId: DEMO_TENANT,
        name: DEMO_KEY_NAME,
        prefix: key.slice(0, 11),
        hash,
      });
      return key;
    }
    await forgetSystemSecret(db, DEMO_KEY_SECRET);
  }
  throw new Error('the demo key could not be made');
}

/**
 * Makes sure a demo tenant with a welcome template exists and returns its API key, so that a new
 * user can send right after `npm start`.
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
  return { tenantId: DEMO_TENANT, apiKey: await demoKey(system), templateId: welcome.id };
}
