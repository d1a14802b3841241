import type { System } from './system.js';

const DEMO_TENANT = 'demo';

/**
 * Makes sure a demo tenant with a welcome template exists and returns a fresh API key for it, so
 * that a new user can send right after `npm start`.
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
  const key = await tenancy.createApiKey(DEMO_TENANT, `npm start ${new Date().toISOString()}`);
  return { tenantId: DEMO_TENANT, apiKey: key.key, templateId: welcome.id };
}
