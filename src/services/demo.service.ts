import { createHmac } from 'node:crypto';
import type { ApiKeysRepository } from '../db/api-keys.repository.js';
import type { Database } from '../db/database.js';
import { forgetSystemSecret, systemSecret } from '../db/system-secrets.repository.js';
import { newId } from '../lib/ids.js';
import type { TemplatesService } from './templates.service.js';
import { hashApiKey, type TenancyService } from './tenancy.service.js';

/** The tenant the zero-setup start seeds (docs/getting-started.md). */
export const DEMO_TENANT = 'demo';
const DEMO_KEY_NAME = 'npm start';
const DEMO_KEY_SECRET = 'demo-api-key';

export interface DemoSeed {
  tenantId: string;
  apiKey: string;
  templateId: string;
}

/** The demo tenant a zero-setup start gives a new user: one tenant, one template, one stable key. */
export function demoService(deps: {
  db: Database;
  apiKeys: ApiKeysRepository;
  tenancy: TenancyService;
  templates: TemplatesService;
}) {
  const { db, apiKeys, tenancy, templates } = deps;

  /**
   * The demo tenant's one key: derived from a secret the system keeps, so every start prints the
   * same key (a restart does not break a client using it) and restarts add no keys. Keys that
   * earlier versions made on every start are deleted; a key an admin revoked is replaced by a new one.
   */
  async function demoKey(): Promise<string> {
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

  return {
    /**
     * Makes sure a demo tenant with a welcome template exists and returns its API key, so that a
     * new user can send right after `npm start`.
     */
    async seed(): Promise<DemoSeed> {
      if (!(await tenancy.findTenant(DEMO_TENANT))) {
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
      return { tenantId: DEMO_TENANT, apiKey: await demoKey(), templateId: welcome.id };
    },
  };
}
