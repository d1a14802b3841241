import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('/suppressions', () => {
  let h: Harness;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let templateA: string;

  beforeAll(async () => {
    h = await startHarness();
    a = await h.createTenant('A');
    b = await h.createTenant('B');
    templateA = await h.createTemplate(a.key);
  });
  afterAll(() => h?.close());

  const add = (key: string, body: Record<string, unknown>) =>
    h.request('POST', '/suppressions', { key, body });
  const send = (email: string, extra: Record<string, unknown> = {}) =>
    h.request('POST', '/send', {
      key: a.key,
      body: { recipient: { email }, template_id: templateA, variables: { name: 'X' }, ...extra },
    });

  it('adds an address (201), answers an existing one 200 with its first entry, in lower case', async () => {
    const address = `Manual-${randomUUID()}@Example.com`;
    const first = await add(a.key, { email: address });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      email: address.toLowerCase(),
      reason: 'manual',
      created_at: expect.any(String),
    });
    const again = await add(a.key, { email: address.toUpperCase(), reason: 'complaint' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const got = await h.request('GET', `/suppressions/${encodeURIComponent(address)}`, { key: a.key });
    expect(got.body).toEqual(first.body);
  });

  it('refuses an invalid address, an unknown reason and unknown fields with 400', async () => {
    for (const body of [
      { email: 'not an address' },
      { email: 'x@example.com', reason: 'because' },
      { email: 'x@example.com', why: 1 },
    ]) {
      const res = await add(a.key, body);
      expect(res.status).toBe(400);
    }
    expect((await add(a.key, {})).body.error.details).toEqual([{ field: 'email', message: 'is required' }]);
  });

  it('removes an address (204), then answers 404', async () => {
    const address = `rm-${randomUUID()}@example.com`;
    await add(a.key, { email: address, reason: 'manual' });
    expect((await h.request('DELETE', `/suppressions/${address}`, { key: a.key })).status).toBe(204);
    expect((await h.request('DELETE', `/suppressions/${address}`, { key: a.key })).status).toBe(404);
    expect((await h.request('GET', `/suppressions/${address}`, { key: a.key })).status).toBe(404);
  });

  it.each(['unsubscribe', 'complaint'])(
    'keeps a %s (the recipient chose it) unless removed with an explicit override, recorded',
    async (reason) => {
      const email = `${reason}-${randomUUID()}@example.com`;
      expect((await add(a.key, { email, reason })).status).toBe(201);
      const path = `/suppressions/${encodeURIComponent(email)}`;
      const refused = await h.request('DELETE', path, { key: a.key });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe('suppression_recipient_choice');
      expect((await h.request('GET', path, { key: a.key })).status).toBe(200);
      expect((await send(email)).status).toBe(422);
      // Another tenant cannot even see it, override or not.
      expect(
        (await h.request('DELETE', `${path}?override_recipient_choice=true`, { key: b.key })).status,
      ).toBe(404);
      expect(await h.sql('SELECT 1 FROM suppression_removals WHERE email = $1', [email])).toEqual([]);

      const lifted = await h.request(
        'DELETE',
        `${path}?override_recipient_choice=true&note=asked%20by%20phone`,
        {
          key: a.key,
        },
      );
      expect(lifted.status).toBe(204);
      expect((await h.request('GET', path, { key: a.key })).status).toBe(404);
      const [record] = await h.sql(
        'SELECT tenant_id, reason, overridden, removed_by_key IS NOT NULL AS by_key, note FROM suppression_removals WHERE email = $1',
        [email],
      );
      expect(record).toEqual({
        tenant_id: a.id,
        reason,
        overridden: true,
        by_key: true,
        note: 'asked by phone',
      });
    },
  );

  it('records a plain removal of a manual entry, without an override', async () => {
    const email = `manual-${randomUUID()}@example.com`;
    await add(a.key, { email });
    expect((await h.request('DELETE', `/suppressions/${email}`, { key: a.key })).status).toBe(204);
    expect(
      await h.sql('SELECT reason, overridden FROM suppression_removals WHERE email = $1', [email]),
    ).toEqual([{ reason: 'manual', overridden: false }]);
  });

  it('lists newest first with a cursor, every entry exactly once', async () => {
    const t = await h.createTenant('Lister');
    const added: string[] = [];
    for (let i = 0; i < 7; i++) {
      const address = `l${i}-${randomUUID()}@example.com`;
      await add(t.key, { email: address, reason: i % 2 ? 'hard_bounce' : 'manual' });
      added.push(address);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = await h.request('GET', `/suppressions?limit=3${q}`, { key: t.key });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.items.map((s: { email: string }) => s.email));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...added].reverse());
    expect((await h.request('GET', '/suppressions?cursor=garbage', { key: t.key })).status).toBe(400);
  });

  it("never shows or removes another tenant's entry, and never lets it block another tenant's send", async () => {
    const address = `iso-${randomUUID()}@example.com`;
    expect((await add(b.key, { email: address, reason: 'complaint' })).status).toBe(201);
    expect((await h.request('GET', `/suppressions/${address}`, { key: a.key })).status).toBe(404);
    expect((await h.request('DELETE', `/suppressions/${address}`, { key: a.key })).status).toBe(404);
    const list = await h.request('GET', '/suppressions?limit=200', { key: a.key });
    expect(list.body.items.map((s: { email: string }) => s.email)).not.toContain(address);
    expect((await h.request('GET', `/suppressions/${address}`, { key: b.key })).status).toBe(200);
    expect((await send(address)).status).toBe(202);
    expect((await h.request('GET', `/suppressions?tenant_id=${b.id}`, { key: a.key })).status).toBe(403);
  });

  it('answers /send to a suppressed address 422 recipient_suppressed, whatever its case', async () => {
    const address = `blocked-${randomUUID()}@example.com`;
    await add(a.key, { email: address });
    const res = await send(address.toUpperCase());
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'recipient_suppressed',
      details: { email: address, reason: 'manual' },
    });
  });

  it('marks an email suppressed at delivery, sending nothing, when the address was suppressed after acceptance', async () => {
    const address = `late-${randomUUID()}@example.com`;
    const res = await send(address, { send_at: new Date(Date.now() + 1500).toISOString() });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('scheduled');
    expect((await add(a.key, { email: address, reason: 'hard_bounce' })).status).toBe(201);
    const email = await eventually(async () => {
      const r = await h.request('GET', `/emails/${res.body.email_id}`, { key: a.key });
      return r.body.status === 'suppressed' ? r.body : null;
    });
    expect(email.events.map((e: { type: string }) => e.type)).toContain('suppressed');
    expect(email.events.at(-1)).toMatchObject({ type: 'suppressed', data: { reason: 'hard_bounce' } });
    expect((await h.sink.messages()).some((m) => m.envelope.to.includes(address))).toBe(false);
  });

  it('requires an API key', async () => {
    expect((await h.request('GET', '/suppressions')).status).toBe(401);
  });
});
