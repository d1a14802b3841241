import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/env.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('tenants and API keys', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ roles: { api: true, worker: false } });
  });
  afterAll(() => h?.close());

  it('refuses the admin API without the admin token', async () => {
    expect((await h.request('POST', '/admin/tenants', { body: { name: 'x' } })).status).toBe(401);
    const wrong = await h.request('GET', '/admin/tenants', {
      headers: { authorization: 'Bearer not-the-token-at-all' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('admin_unauthorized');
    const tenant = await h.createTenant();
    // A tenant key is not an admin token.
    const withKey = await h.request('GET', '/admin/tenants', { key: tenant.key });
    expect(withKey.status).toBe(401);
  });

  it('creates a tenant with a chosen id, and refuses a duplicate with 409', async () => {
    const a = await h.admin('POST', '/admin/tenants', { id: 'tenant-1', name: 'Tenant 1' });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ id: 'tenant-1', name: 'Tenant 1', status: 'active' });
    const b = await h.admin('POST', '/admin/tenants', { id: 'tenant-1', name: 'Again' });
    expect(b.status).toBe(409);
    const bad = await h.admin('POST', '/admin/tenants', { id: 'bad id!', name: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('id');
  });

  it('shows a key once, stores only its hash, and lists it by prefix', async () => {
    const t = await h.admin('POST', '/admin/tenants', { name: 'Keys' });
    const created = await h.admin('POST', `/admin/tenants/${t.body.id}/api-keys`, { name: 'ci' });
    expect(created.status).toBe(201);
    const key: string = created.body.key;
    expect(key).toMatch(/^ms_[A-Za-z0-9_-]{43}$/); // 256 random bits
    expect(key.startsWith(created.body.prefix)).toBe(true);

    const rows = await h.sql('SELECT * FROM api_keys WHERE id = $1', [created.body.id]);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows[0])).not.toContain(key.slice(3));
    expect(Buffer.from(rows[0].key_hash).equals(createHash('sha256').update(key).digest())).toBe(true);

    const list = await h.admin('GET', `/admin/tenants/${t.body.id}/api-keys`);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        id: created.body.id,
        name: 'ci',
        prefix: created.body.prefix,
        revoked_at: null,
      }),
    ]);
    expect(list.raw).not.toContain(key);
  });

  it('tells a key which tenant and key it is, never the secret', async () => {
    const t = await h.createTenant('Who am I');
    const me = await h.request('GET', '/me', { key: t.key });
    expect(me.status).toBe(200);
    expect(me.body.tenant).toMatchObject({ id: t.id, name: 'Who am I', status: 'active' });
    expect(t.key.startsWith(me.body.api_key.prefix)).toBe(true);
    expect(me.raw).not.toContain(t.key);
    expect((await h.request('GET', '/me')).status).toBe(401);
  });

  it('rejects unknown, malformed and missing keys with 401', async () => {
    for (const auth of [
      undefined,
      'Bearer ms_unknownkeyunknownkeyunknownkeyunknownkey00',
      'Basic abc',
      'Bearer',
    ]) {
      const r = await h.request('GET', '/emails', { headers: auth ? { authorization: auth } : {} });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
    }
  });

  it('stops a revoked key within a second', async () => {
    const t = await h.createTenant();
    expect((await h.request('GET', '/emails', { key: t.key })).status).toBe(200);
    const [k] = (await h.admin('GET', `/admin/tenants/${t.id}/api-keys`)).body.items;
    const revoked = await h.admin('DELETE', `/admin/tenants/${t.id}/api-keys/${k.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    await eventually(
      async () => (await h.request('GET', '/emails', { key: t.key })).status === 401,
      1000,
      20,
    );
  });

  it('answers 403 tenant_suspended for a suspended tenant and lets it back in when reactivated', async () => {
    const t = await h.createTenant();
    const s = await h.admin('PATCH', `/admin/tenants/${t.id}`, { status: 'suspended' });
    expect(s.status).toBe(200);
    expect(s.body.status).toBe('suspended');
    await eventually(
      async () => {
        const r = await h.request('GET', '/emails', { key: t.key });
        return r.status === 403 && r.body.error.code === 'tenant_suspended';
      },
      1000,
      20,
    );
    await h.admin('PATCH', `/admin/tenants/${t.id}`, { status: 'active' });
    await eventually(
      async () => (await h.request('GET', '/emails', { key: t.key })).status === 200,
      1000,
      20,
    );
  });

  it('answers 403 tenant_mismatch when tenant_id names another tenant', async () => {
    const a = await h.createTenant();
    const b = await h.createTenant();
    const r = await h.request('GET', `/emails?tenant_id=${b.id}`, { key: a.key });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('tenant_mismatch');
    const ok = await h.request('GET', `/emails?tenant_id=${a.id}`, { key: a.key });
    expect(ok.status).toBe(200);
  });

  it('answers 404 for unknown tenants in the admin API', async () => {
    expect((await h.admin('GET', '/admin/tenants/nope')).status).toBe(404);
    expect((await h.admin('PATCH', '/admin/tenants/nope', { status: 'active' })).status).toBe(404);
    expect((await h.admin('POST', '/admin/tenants/nope/api-keys', { name: 'x' })).status).toBe(404);
  });

  it('never accepts the admin token length check bypass', async () => {
    const r = await h.request('GET', '/admin/tenants', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
    });
    expect(r.status).toBe(401);
  });
});

describe("another tenant's ids answer 404 on every tenant route", () => {
  let h: Harness;
  let owner: { id: string; key: string };
  let intruder: { id: string; key: string };
  let templateId: string;
  let emailId: string;
  let scheduledId: string;
  let deadLetterId: string;

  beforeAll(async () => {
    h = await startHarness({
      sink: { reply: (rcpt) => (rcpt.startsWith('dead') ? { code: 550, message: 'no' } : undefined) },
    });
    owner = await h.createTenant();
    intruder = await h.createTenant();
    templateId = await h.createTemplate(owner.key);
    const send = async (email: string, extra: object = {}) =>
      (
        await h.request('POST', '/send', {
          key: owner.key,
          body: { recipient: { email }, template_id: templateId, variables: { name: 'x' }, ...extra },
        })
      ).body.email_id as string;
    emailId = await send('a@example.com');
    scheduledId = await send('b@example.com', { send_at: new Date(Date.now() + 3600_000).toISOString() });
    const dead = await send('dead@example.com');
    deadLetterId = await eventually(
      async () => (await h.sql('SELECT id FROM dead_letters WHERE email_id = $1', [dead]))[0]?.id,
    );
  });
  afterAll(() => h?.close());

  const cases = (): [string, string, unknown?][] => [
    ['GET', `/emails/${emailId}`],
    ['POST', `/emails/${scheduledId}/cancel`],
    ['GET', `/templates/${templateId}`],
    ['GET', `/templates/${templateId}/versions`],
    ['PUT', `/templates/${templateId}`, { subject_template: 'x', html_template: 'y' }],
    ['DELETE', `/templates/${templateId}`],
    ['POST', `/templates/${templateId}/preview`, { variables: { name: 'x' } }],
    ['GET', `/dead-letters/${deadLetterId}`],
    ['POST', `/dead-letters/${deadLetterId}/retry`],
  ];

  it('answers the intruder exactly as for an unknown id, and changes nothing', async () => {
    for (const [method, url, body] of cases()) {
      const theirs = await h.request(method, url, { key: intruder.key, ...(body ? { body } : {}) });
      const unknownUrl = url.replace(
        /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/,
        '00000000-0000-4000-8000-000000000000',
      );
      const unknown = await h.request(method, unknownUrl, { key: intruder.key, ...(body ? { body } : {}) });
      expect({ url, status: theirs.status }).toEqual({ url, status: 404 });
      expect(theirs.body.error.code).toBe(unknown.body.error.code);
      expect(theirs.body.error.message).toBe(unknown.body.error.message);
    }
    // The owner still sees everything unchanged.
    expect((await h.request('GET', `/emails/${scheduledId}`, { key: owner.key })).body.status).toBe(
      'scheduled',
    );
    const tpl = await h.request('GET', `/templates/${templateId}`, { key: owner.key });
    expect(tpl.body).toMatchObject({ version: 1, is_active: true });
    expect(
      (await h.request('GET', `/dead-letters/${deadLetterId}`, { key: owner.key })).body.retried_at,
    ).toBeNull();
  });

  it('lists nothing of the owner to the intruder', async () => {
    for (const url of ['/emails', '/templates', '/dead-letters?include_retried=true']) {
      const r = await h.request('GET', url, { key: intruder.key });
      expect(r.status).toBe(200);
      expect(r.body.items).toEqual([]);
    }
  });

  it("refuses to send with another tenant's template", async () => {
    const r = await h.request('POST', '/send', {
      key: intruder.key,
      body: { recipient: { email: 'x@example.com' }, template_id: templateId, variables: { name: 'x' } },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('unknown_template');
  });
});
