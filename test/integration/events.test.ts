import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('GET /events', () => {
  let h: Harness;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let templateA: string;
  let templateB: string;

  const send = async (key: string, template_id: string, email: string) => {
    const r = await h.request('POST', '/send', {
      key,
      body: { recipient: { email }, template_id, variables: { name: 'x' } },
    });
    expect(r.status).toBe(202);
    return r.body.email_id as string;
  };
  const sentEvents = (key: string, id: string) =>
    eventually(async () => {
      const r = await h.request('GET', `/emails/${id}`, { key });
      return r.body.status === 'sent' ? r.body.events : null;
    });

  beforeAll(async () => {
    h = await startHarness();
    a = await h.createTenant('Events A');
    b = await h.createTenant('Events B');
    templateA = await h.createTemplate(a.key);
    templateB = await h.createTemplate(b.key);
  });
  afterAll(() => h?.close());

  it("follows the tenant's own events in order, from a cursor, and never shows another tenant's", async () => {
    const start = await h.request('GET', '/events', { key: a.key });
    expect(start.status).toBe(200);
    expect(start.body).toEqual({ items: [], next_cursor: expect.any(String), has_more: false });

    const first = await send(a.key, templateA, 'one@example.com');
    const other = await send(b.key, templateB, 'other@example.com');
    await sentEvents(a.key, first);
    await sentEvents(b.key, other);

    const page = await h.request('GET', `/events?cursor=${start.body.next_cursor}`, { key: a.key });
    expect(page.status).toBe(200);
    expect(page.body.items.map((e: { type: string }) => e.type)).toEqual(['queued', 'processing', 'sent']);
    expect(page.body.items.every((e: { email_id: string }) => e.email_id === first)).toBe(true);
    expect(page.body.items[0]).toMatchObject({ recipient: 'one@example.com', at: expect.any(String) });
    const ids = page.body.items.map((e: { id: string }) => BigInt(e.id));
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);

    const second = await send(a.key, templateA, 'two@example.com');
    await sentEvents(a.key, second);
    const small = await h.request('GET', `/events?cursor=${page.body.next_cursor}&limit=2`, { key: a.key });
    expect(small.body.items.map((e: { type: string }) => e.type)).toEqual(['queued', 'processing']);
    expect(small.body.has_more).toBe(true);
    const rest = await h.request('GET', `/events?cursor=${small.body.next_cursor}`, { key: a.key });
    expect(rest.body.items.map((e: { type: string; email_id: string }) => [e.type, e.email_id])).toEqual([
      ['sent', second],
    ]);
    expect(rest.body.has_more).toBe(false);
    const nothing = await h.request('GET', `/events?cursor=${rest.body.next_cursor}`, { key: a.key });
    expect(nothing.body).toEqual({ items: [], next_cursor: rest.body.next_cursor, has_more: false });

    const latest = await h.request('GET', '/events?limit=2', { key: a.key });
    expect(latest.body.items.map((e: { type: string }) => e.type)).toEqual(['processing', 'sent']);

    const fromB = await h.request('GET', `/events?cursor=${start.body.next_cursor}`, { key: b.key });
    expect(fromB.body.items.map((e: { email_id: string }) => e.email_id)).toEqual([other, other, other]);
  });

  it('answers 400 for a cursor it did not issue, and 403 for another tenant_id', async () => {
    for (const cursor of [
      'abc',
      Buffer.from('ev:-1').toString('base64url'),
      Buffer.from('x:1').toString('base64url'),
    ]) {
      const r = await h.request('GET', `/events?cursor=${cursor}`, { key: a.key });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_cursor');
    }
    const limit = await h.request('GET', '/events?limit=0', { key: a.key });
    expect(limit.status).toBe(400);
    const mismatch = await h.request('GET', `/events?tenant_id=${b.id}`, { key: a.key });
    expect(mismatch.status).toBe(403);
  });
});
