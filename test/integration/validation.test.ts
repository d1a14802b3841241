import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('bad input gets a clear 4xx and changes nothing', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    h = await startHarness();
    t = await h.createTenant();
    templateId = await h.createTemplate(t.key, { subject_template: 'Hello {{ name }}' });
  });
  afterAll(() => h?.close());

  const emailCount = async () => Number((await h.sql('SELECT count(*)::int AS n FROM emails'))[0].n);
  const send = (body: unknown, extra: { headers?: Record<string, string>; rawBody?: string } = {}) =>
    h.request('POST', '/send', { key: t.key, body, ...extra });
  const valid = (extra: Record<string, unknown> = {}) => ({
    recipient: { email: 'ok@example.com', name: 'Ok' },
    template_id: templateId,
    variables: { name: 'Ok' },
    ...extra,
  });

  it('names every field that breaks the schema', async () => {
    const before = await emailCount();
    const r = await send({ recipient: { name: 5 }, template_id: 7, surprise: true, tags: 'x' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    const fields = r.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(
      expect.arrayContaining(['recipient.email', 'recipient.name', 'template_id', 'surprise', 'tags']),
    );
    expect(await emailCount()).toBe(before);
  });

  it.each([
    'plainaddress',
    'a@b',
    'alice@example.com, bob@example.com',
    'Alice <alice@example.com>',
    '"quoted"@example.com',
    'alice@[127.0.0.1]',
    'alice@example.com\r\nBcc: victim@example.com',
    'alice..dots@example.com',
    '.alice@example.com',
    'alice@-example.com',
    'alice@example.c0m',
  ])('refuses the address %j with 400 naming recipient.email', async (email) => {
    const r = await send(valid({ recipient: { email } }));
    expect(r.status).toBe(400);
    expect(r.body.error.details).toContainEqual({ field: 'recipient.email', message: expect.any(String) });
  });

  it('refuses CR, LF and NUL in the recipient name and in custom headers', async () => {
    const before = await emailCount();
    for (const body of [
      valid({ recipient: { email: 'ok@example.com', name: 'Eve\r\nBcc: victim@example.com' } }),
      valid({ recipient: { email: 'ok@example.com', name: 'Eve\nX: y' } }),
      valid({ headers: { 'X-Campaign': 'a\r\nBcc: victim@example.com' } }),
      valid({ headers: { 'X-Campaign\r\nBcc': 'x' } }),
      valid({ headers: { Bcc: 'victim@example.com' } }),
      valid({ headers: { 'Reply-To': 'attacker@example.com' } }),
      valid({ headers: { 'X-Null': 'a\u0000b' } }),
    ]) {
      const r = await send(body);
      expect(r.status).toBe(400);
    }
    expect(await emailCount()).toBe(before);
  });

  it('refuses a subject that renders with a line break (422) and sends nothing', async () => {
    const r = await send(valid({ variables: { name: 'Eve\r\nBcc: victim@example.com' } }));
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('invalid_rendered_header');
  });

  it('never adds a recipient or a header from variables, names or header values', async () => {
    h.sink.clear();
    const r = await send(
      valid({
        recipient: {
          email: 'target@example.com',
          name: 'Mallory, "Bcc: victim@example.com" <victim@example.com>',
        },
        variables: { name: 'x Bcc: victim@example.com' },
        headers: { 'X-Campaign': 'spring; Bcc: victim@example.com' },
      }),
    );
    expect(r.status).toBe(202);
    const [msg] = await h.sink.waitFor(1);
    expect(msg?.envelope.to).toEqual(['target@example.com']);
    expect(msg?.headers.has('bcc')).toBe(false);
    expect(msg?.headers.has('cc')).toBe(false);
    expect(msg?.to).toHaveLength(1);
    expect(msg?.headers.get('x-campaign')).toBe('spring; Bcc: victim@example.com');
    expect(msg?.raw).not.toMatch(/^Bcc:/im);
  });

  it('answers 415 for a body that is not JSON, and 400 for malformed JSON', async () => {
    const form = await h.request('POST', '/send', {
      key: t.key,
      rawBody: 'recipient=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe('unsupported_media_type');
    const broken = await h.request('POST', '/send', {
      key: t.key,
      rawBody: '{"recipient": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('malformed_json');
    const proto = await h.request('POST', '/send', {
      key: t.key,
      rawBody: '{"__proto__": {"admin": true}, "template_id": "x"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(proto.status).toBe(400);
  });

  it('answers 413 over the body limit', async () => {
    const r = await send(valid({ variables: { name: 'x', blob: 'x'.repeat(1_100_000) } }));
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
  });

  it('refuses NUL and broken surrogates anywhere in the body or the query with 400, never 500', async () => {
    const nul = await send(valid({ metadata: { note: 'a\u0000b' } }));
    expect(nul.status).toBe(400);
    expect(nul.body.error.details[0].field).toBe('metadata.note');
    const surrogate = await h.request('POST', '/send', {
      key: t.key,
      rawBody: `{"recipient":{"email":"ok@example.com"},"template_id":"${templateId}","variables":{"name":"\\ud800"}}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(surrogate.status).toBe(400);
    const query = await h.request('GET', '/emails?recipient=%00', { key: t.key });
    expect(query.status).toBe(400);
  });

  it('answers 422 unknown_template for a template id that does not exist or is not a uuid', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'tpl-1', "x' OR 1=1 --"]) {
      const r = await send(valid({ template_id: id }));
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('unknown_template');
    }
  });

  it('answers 400 for a send_at that is not a time', async () => {
    for (const sendAt of ['tomorrow', '2026-13-01T00:00:00Z', '2026-01-01']) {
      const r = await send(valid({ send_at: sendAt }));
      expect(r.status).toBe(400);
      expect(r.body.error.details[0].field).toBe('send_at');
    }
  });

  it('answers 404 in JSON for unknown routes and malformed ids, never a stack trace', async () => {
    const route = await h.request('GET', '/nope', { key: t.key });
    expect(route.status).toBe(404);
    expect(route.body.error.code).toBe('route_not_found');
    for (const id of ['not-a-uuid', '1%27%20OR%201=1', '00000000-0000-4000-8000-000000000000']) {
      const r = await h.request('GET', `/emails/${id}`, { key: t.key });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('email_not_found');
    }
    const bad = await h.request('GET', '/emails?status=nope&limit=100000', { key: t.key });
    expect(bad.status).toBe(400);
    expect(bad.raw).not.toMatch(/at \w+ \(|node_modules|SELECT|syntax error/i);
  });

  it('answers 400, never 500, for values that pass a pattern but not the calendar or PostgreSQL', async () => {
    const badCursor = Buffer.from(
      JSON.stringify(['2024-13-45 99:99:99+00', '00000000-0000-4000-8000-000000000000']),
    ).toString('base64url');
    for (const url of [
      `/emails?cursor=${badCursor}`,
      `/dead-letters?cursor=${badCursor}`,
      `/templates?cursor=${badCursor}`,
      '/emails?from=2016-12-31T23:59:60Z',
      '/emails?to=2024-02-30',
      '/emails?bulk_job_id=urn:uuid:00000000-0000-4000-8000-000000000000',
      '/analytics?template_id=urn:uuid:00000000-0000-4000-8000-000000000000',
    ]) {
      const r = await h.request('GET', url, { key: t.key });
      expect({ url, status: r.status }).toEqual({ url, status: 400 });
    }
    const dates = await h.request('GET', '/emails?from=2020-01-01&to=2099-12-31', { key: t.key });
    expect(dates.status).toBe(200);
  });

  it('answers 400 for JSON nested deeper than 64 levels, wherever it is', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    const r = await send(valid({ metadata: { deep }, idempotency_key: 'deep-1' }));
    expect(r.status).toBe(400);
    const deeper = `${'['.repeat(20_000)}"x"${']'.repeat(20_000)}`;
    const huge = await h.request('POST', '/send', {
      key: t.key,
      rawBody: JSON.stringify(valid({ variables: { name: 'x', deeper: 'HOLE' } })).replace('"HOLE"', deeper),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.status).toBeGreaterThanOrEqual(400);
    expect(huge.status).toBeLessThan(500);
  });

  it('answers 400 for numbers beyond what is stored', async () => {
    const tenant = await h.admin('POST', '/admin/tenants', { name: 'numbers' });
    for (const body of [{ rate_limit_burst: 1e12 }, { rate_limit_per_second: 1e300 }]) {
      const r = await h.admin('PATCH', `/admin/tenants/${tenant.body.id}`, body);
      expect(r.status).toBe(400);
    }
    const preview = await h.request('POST', `/templates/${templateId}/preview`, {
      key: t.key,
      body: { variables: { name: 'x' }, version: 1e10 },
    });
    expect(preview.status).toBe(400);
  });

  it('lists emails newest first with filters and a cursor', async () => {
    const other = await h.createTenant();
    const tpl = await h.createTemplate(other.key);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await h.request('POST', '/send', {
        key: other.key,
        body: {
          recipient: { email: i % 2 ? 'odd@example.com' : 'even@example.com' },
          template_id: tpl,
          variables: { name: 'n' },
        },
      });
      ids.push(r.body.email_id);
    }
    await eventually(async () => {
      const r = await h.request('GET', '/emails?status=sent&limit=50', { key: other.key });
      return r.body.items.length === 5;
    });
    const p1 = await h.request('GET', '/emails?limit=3', { key: other.key });
    expect(p1.body.items.map((e: { email_id: string }) => e.email_id)).toEqual(
      ids.slice().reverse().slice(0, 3),
    );
    const p2 = await h.request('GET', `/emails?limit=3&cursor=${p1.body.next_cursor}`, { key: other.key });
    expect(p2.body.items.map((e: { email_id: string }) => e.email_id)).toEqual(
      ids.slice().reverse().slice(3),
    );
    expect(p2.body.next_cursor).toBeNull();
    const odd = await h.request('GET', '/emails?recipient=ODD@example.com', { key: other.key });
    expect(odd.body.items).toHaveLength(2);
    const none = await h.request(
      'GET',
      `/emails?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      {
        key: other.key,
      },
    );
    expect(none.body.items).toEqual([]);
  });
});
