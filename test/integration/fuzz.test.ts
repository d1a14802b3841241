import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../support/env.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { type DocOperation, isTenantScoped, minimal, operations, valid } from '../support/openapi.js';

const RUNS_PER_OPERATION = 40;
const LEAKS = [/\bat \S+ \(/, /node_modules/, /\bSELECT\b/, /\bINSERT INTO\b/, /syntax error/i, /violates/i];

/** Values that break things: path tricks, encodings, huge and odd strings, other ids. */
const nasty = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.uuid(),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom(
    '',
    '..',
    '%',
    '%00',
    '\u0000',
    '\r\nX-Injected: 1',
    "' OR 1=1 --",
    '00000000-0000-0000-0000-000000000000',
    'a'.repeat(5000),
    '-1',
    '1e309',
    'null',
    '[]',
    '{"$gt":""}',
  ),
);

function bodyFor(op: DocOperation): fc.Arbitrary<{ raw?: string; json?: unknown }> {
  return fc.oneof(
    valid(op.body).map((json) => ({ json })),
    fc.jsonValue({ maxDepth: 3 }).map((json) => ({ json })),
    fc.record({ json: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })) }),
    fc.string({ maxLength: 200 }).map((raw) => ({ raw })),
    fc.constantFrom({ raw: '{' }, { raw: '{"a":' }, { raw: '\u0000' }, { raw: 'null' }, { raw: '' }),
  );
}

describe('every route of the OpenAPI document, with random and malformed input', () => {
  let h: Harness;
  let doc: any;
  let tenant: { id: string; key: string };
  let known: string[];

  beforeAll(async () => {
    h = await startHarness({
      roles: { api: true, worker: false },
      env: { RATE_LIMIT_PER_SECOND: '0' },
    });
    doc = (await h.request('GET', '/openapi.json')).body;
    tenant = await h.createTenant();
    const templateId = await h.createTemplate(tenant.key);
    const sent = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email: 'fuzz@example.com' }, template_id: templateId, variables: { name: 'x' } },
    });
    known = [tenant.id, templateId, sent.body.email_id, 'fuzz@example.com'];
  });
  afterAll(() => h?.close());

  it('never answers 5xx, and every error is a JSON error with no stack trace or SQL in it', async () => {
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(20);
    for (const op of ops) {
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      const queryParams = op.parameters.filter((p) => p.in === 'query');
      const request = fc.record({
        params: fc.tuple(
          ...pathParams.map((p) =>
            // Admin routes get random ids only: a fuzzer must not suspend the tenant it uses.
            op.path.startsWith('/admin')
              ? nasty
              : fc.oneof(nasty, fc.constantFrom(...known), valid(p.schema)),
          ),
        ),
        query: fc.oneof(
          fc.record(Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(valid(p.schema), nasty)])), {
            requiredKeys: [],
          }),
          fc.dictionary(fc.string({ maxLength: 10 }), nasty, { maxKeys: 3 }),
        ),
        body: bodyFor(op),
        contentType: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
          undefined,
        ),
        auth: fc.constantFrom(
          `Bearer ${tenant.key}`,
          `Bearer ${ADMIN_TOKEN}`,
          'Bearer ms_nope',
          'Basic Og==',
          undefined,
        ),
      });
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let path = op.path;
          pathParams.forEach((p, i) => {
            path = path.replace(`{${p.name}}`, encodeURIComponent(String(r.params[i] ?? '')));
          });
          const qs = new URLSearchParams();
          for (const [k, v] of Object.entries(r.query)) if (v !== undefined) qs.append(k, String(v));
          const headers: Record<string, string> = {};
          if (r.auth) headers.authorization = r.auth;
          if (r.contentType) headers['content-type'] = r.contentType;
          const hasBody = op.method !== 'GET' && op.method !== 'DELETE';
          const payload = hasBody ? (r.body.raw ?? JSON.stringify(r.body.json ?? null)) : undefined;
          const res = await h.app.inject({
            method: op.method as 'GET',
            url: `${path}${qs.size > 0 ? `?${qs}` : ''}`,
            headers,
            ...(payload !== undefined ? { payload } : {}),
          });
          const where = `${op.method} ${op.path} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          for (const leak of LEAKS) expect(leak.test(res.body), `${where} leaks ${leak}`).toBe(false);
          if (res.statusCode >= 400) {
            expect(res.headers['content-type'], where).toMatch(/^(application\/json|text\/html)/);
            if (String(res.headers['content-type']).startsWith('application/json')) {
              const body = JSON.parse(res.body);
              expect(typeof body.error?.code, where).toBe('string');
              expect(typeof body.error?.message, where).toBe('string');
            }
          }
        }),
        { numRuns: RUNS_PER_OPERATION },
      );
    }
  });

  it('refuses a body larger than the route allows with 413', async () => {
    const big = JSON.stringify({
      recipient: { email: 'a@example.com' },
      template_id: 'x',
      pad: 'x'.repeat(2 * 1024 * 1024),
    });
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
  });

  it('refuses CR or LF in every value that becomes a mail header, on single and bulk sends', async () => {
    const templateId = known[1];
    const evil = 'x\r\nBcc: victim@example.com';
    const cases: Array<[string, unknown, string]> = [
      [
        '/send',
        { recipient: { email: 'a@example.com' }, template_id: templateId, headers: { 'X-A': evil } },
        'headers.X-A',
      ],
      [
        '/send',
        { recipient: { email: 'a@example.com', name: evil }, template_id: templateId },
        'recipient.name',
      ],
      [
        '/send/bulk',
        { template_id: templateId, recipients: [{ email: 'a@example.com' }], headers: { 'X-A': evil } },
        'headers.X-A',
      ],
    ];
    for (const [url, body, field] of cases) {
      const r = await h.request('POST', url, { key: tenant.key, body });
      expect({ url, field, status: r.status }).toEqual({ url, field, status: 400 });
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    }
  });

  it('sends security headers and a request id with every answer', async () => {
    for (const url of ['/health/live', '/no-such-route', '/openapi.json', '/emails']) {
      const r = await h.request('GET', url);
      expect(r.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(r.headers['strict-transport-security']).toContain('max-age=');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(String(r.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
      expect(String(r.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
  });
});

describe("every tenant-scoped route answers another tenant's ids with 404", () => {
  let h: Harness;
  let doc: any;
  let owner: { id: string; key: string };
  let intruder: { id: string; key: string };
  let fixtures: Record<string, { id: string; unknown: string }>;

  beforeAll(async () => {
    h = await startHarness({
      sink: { reply: (rcpt) => (rcpt.startsWith('dead') ? { code: 550, message: 'no' } : undefined) },
    });
    doc = (await h.request('GET', '/openapi.json')).body;
    owner = await h.createTenant();
    intruder = await h.createTenant();
    const templateId = await h.createTemplate(owner.key);
    const later = new Date(Date.now() + 3600_000).toISOString();
    const send = async (email: string, extra: object = {}) =>
      (
        await h.request('POST', '/send', {
          key: owner.key,
          body: { recipient: { email }, template_id: templateId, variables: { name: 'x' }, ...extra },
        })
      ).body.email_id as string;
    const scheduled = await send('later@example.com', { send_at: later });
    const dead = await send('dead@example.com');
    const bulk = await h.request('POST', '/send/bulk', {
      key: owner.key,
      body: {
        template_id: templateId,
        recipients: [{ email: 'b@example.com', variables: { name: 'x' } }],
        send_at: later,
      },
    });
    const deadLetterId = await eventually(
      async () => (await h.sql('SELECT id FROM dead_letters WHERE email_id = $1', [dead]))[0]?.id as string,
    );
    const unknownId = '00000000-0000-4000-8000-000000000000';
    // One owned resource per tenant-scoped path prefix. A new route with a path parameter under a
    // prefix missing here fails the test below until its fixture is added.
    fixtures = {
      '/emails/{id}': { id: scheduled, unknown: unknownId },
      '/templates/{id}': { id: templateId, unknown: unknownId },
      '/dead-letters/{id}': { id: deadLetterId, unknown: unknownId },
      '/bulk/{id}': { id: bulk.body.bulk_job_id, unknown: unknownId },
    };
    const testKey = await h.admin('POST', `/admin/tenants/${owner.id}/api-keys`, {
      name: 'dev',
      mode: 'test',
    });
    await h.request('POST', '/send', {
      key: testKey.body.key,
      body: {
        recipient: { email: 'captured@example.com' },
        template_id: templateId,
        variables: { name: 'x' },
      },
    });
    const captured = await eventually(
      async () => (await h.request('GET', '/inbox', { key: owner.key })).body.items[0]?.id as string,
    );
    fixtures['/inbox/{id}'] = { id: captured, unknown: unknownId };
    const domain = await h.request('POST', '/domains', { key: owner.key, body: { name: 'owned.example' } });
    fixtures['/domains/{id}'] = { id: domain.body.id, unknown: unknownId };
    // A public address literal: accepted without the development flag and without a DNS look-up.
    const endpoint = await h.request('POST', '/webhook-endpoints', {
      key: owner.key,
      body: { url: 'https://93.184.215.14/hooks', events: ['*'] },
    });
    fixtures['/webhook-endpoints/{id}'] = { id: endpoint.body.id, unknown: unknownId };
    if (doc.paths['/suppressions'] && doc.paths['/suppressions/{email}']) {
      await h.request('POST', '/suppressions', { key: owner.key, body: { email: 'kept@example.com' } });
      fixtures['/suppressions/{email}'] = { id: 'kept@example.com', unknown: 'nobody-here@example.com' };
    }
  });
  afterAll(() => h?.close());

  it('answers the intruder exactly as for an unknown id, for every operation, and changes nothing', async () => {
    const ops = operations(doc).filter((op) => isTenantScoped(op) && op.path.includes('{'));
    expect(ops.length).toBeGreaterThan(8);
    const missing = ops.filter((op) => !Object.keys(fixtures).some((p) => op.path.startsWith(p)));
    expect(missing.map((op) => `${op.method} ${op.path}: add a fixture`)).toEqual([]);

    for (const op of ops) {
      const f = Object.entries(fixtures).find(([p]) => op.path.startsWith(p))?.[1] as {
        id: string;
        unknown: string;
      };
      // Tenant routes have one path parameter: the owned resource's id.
      const url = (id: string) => op.path.replace(/\{[^}]+\}/, encodeURIComponent(id));
      const body = op.body ? minimal(op.body) : undefined;
      const call = (id: string) =>
        h.request(op.method, url(id), { key: intruder.key, ...(body !== undefined ? { body } : {}) });
      const theirs = await call(f.id);
      const unknown = await call(f.unknown);
      const where = `${op.method} ${op.path}`;
      expect({ where, status: theirs.status }).toEqual({ where, status: 404 });
      expect({ where, error: theirs.body.error }).toEqual({ where, error: unknown.body.error });
    }

    // The owner still has everything as it was.
    const email = await h.request('GET', `/emails/${fixtures['/emails/{id}']?.id}`, { key: owner.key });
    expect(email.body.status).toBe('scheduled');
    const tpl = await h.request('GET', `/templates/${fixtures['/templates/{id}']?.id}`, { key: owner.key });
    expect(tpl.body).toMatchObject({ version: 1, is_active: true });
    const dl = await h.request('GET', `/dead-letters/${fixtures['/dead-letters/{id}']?.id}`, {
      key: owner.key,
    });
    expect(dl.body.retried_at).toBeNull();
    const job = await h.request('GET', `/bulk/${fixtures['/bulk/{id}']?.id}`, { key: owner.key });
    expect(job.body.status).not.toBe('cancelled');
    const domain = await h.request('GET', `/domains/${fixtures['/domains/{id}']?.id}`, { key: owner.key });
    expect(domain.body).toMatchObject({ name: 'owned.example', pending_dkim_selector: null });
    const endpoint = await h.request('GET', `/webhook-endpoints/${fixtures['/webhook-endpoints/{id}']?.id}`, {
      key: owner.key,
    });
    expect(endpoint.body).toMatchObject({ enabled: true, previous_secret_expires_at: null, events: ['*'] });
    expect(await h.sql("SELECT 1 FROM webhook_deliveries WHERE type = 'webhook.test'")).toEqual([]);
  });
});
