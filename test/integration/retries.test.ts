import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('retries and dead letters', () => {
  let h: Harness;
  let tenant: { id: string; key: string };
  let other: { id: string; key: string };
  let templateId: string;
  // Per-recipient scripts: how the SMTP server answers RCPT TO on each attempt.
  const seen = new Map<string, number>();
  const scripts: Record<string, (n: number) => { code: number; message: string } | undefined> = {
    'flaky@example.com': (n) =>
      n <= 2 ? { code: 451, message: '4.7.1 Greylisted, try again later' } : undefined,
    'nobody@example.com': () => ({ code: 550, message: '5.1.1 No such user here' }),
    'always-busy@example.com': () => ({ code: 451, message: '4.3.0 Mailbox busy' }),
    'heals@example.com': (n) => (n <= 1 ? { code: 550, message: '5.1.1 No such user (yet)' } : undefined),
  };

  beforeAll(async () => {
    h = await startHarness({
      env: { MAX_RETRIES: '3' },
      sink: {
        reply: (rcpt) => {
          const n = (seen.get(rcpt) ?? 0) + 1;
          seen.set(rcpt, n);
          return scripts[rcpt]?.(n);
        },
      },
    });
    tenant = await h.createTenant();
    other = await h.createTenant();
    templateId = await h.createTemplate(tenant.key);
  });
  afterAll(() => h?.close());

  const send = async (email: string) => {
    const r = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email }, template_id: templateId, variables: { name: 'X' } },
    });
    expect(r.status).toBe(202);
    return r.body.email_id as string;
  };
  const waitStatus = (id: string, status: string) =>
    eventually(async () => {
      const r = await h.request('GET', `/emails/${id}`, { key: tenant.key });
      return r.body.status === status ? r.body : null;
    });

  it('delivers a recipient answered 451 twice on the third attempt and ends sent with 3 attempts', async () => {
    const id = await send('flaky@example.com');
    const email = await waitStatus(id, 'sent');
    expect(email.attempts).toBe(3);
    expect(seen.get('flaky@example.com')).toBe(3);
    const types = email.events.map((e: { type: string }) => e.type);
    expect(types).toEqual([
      'queued',
      'processing',
      'deferred',
      'processing',
      'deferred',
      'processing',
      'sent',
    ]);
    const deferred = email.events.filter((e: { type: string }) => e.type === 'deferred');
    expect(deferred[0].data.error).toContain('451');
    const delivered = (await h.sink.messages()).filter((m) => m.envelope.to.includes('flaky@example.com'));
    expect(delivered).toHaveLength(1);
  });

  it('fails a 550 after one attempt and writes a dead letter with the last error', async () => {
    const id = await send('nobody@example.com');
    const email = await waitStatus(id, 'failed');
    expect(email.attempts).toBe(1);
    expect(email.last_error).toContain('550');
    expect(seen.get('nobody@example.com')).toBe(1);

    const list = await h.request('GET', '/dead-letters', { key: tenant.key });
    expect(list.status).toBe(200);
    const dl = list.body.items.find((d: { email_id: string }) => d.email_id === id);
    expect(dl).toMatchObject({ reason: 'permanent', attempts: 1, recipient: 'nobody@example.com' });
    expect(dl.last_error).toContain('5.1.1');
  });

  it('gives up after MAX_RETRIES retries of a transient failure and dead-letters the email', async () => {
    const id = await send('always-busy@example.com');
    const email = await waitStatus(id, 'failed');
    expect(email.attempts).toBe(4); // the first attempt and MAX_RETRIES=3 retries
    const [dl] = await h.sql('SELECT reason, attempts FROM dead_letters WHERE email_id = $1', [id]);
    expect(dl).toEqual({ reason: 'retries_exhausted', attempts: 4 });
  });

  it('retries a dead letter on request: the email is sent and the dead letter is marked retried', async () => {
    const id = await send('heals@example.com');
    await waitStatus(id, 'failed');
    const [{ id: dlId }] = await h.sql('SELECT id FROM dead_letters WHERE email_id = $1', [id]);

    const otherTenant = await h.request('POST', `/dead-letters/${dlId}/retry`, { key: other.key });
    expect(otherTenant.status).toBe(404);

    const r = await h.request('POST', `/dead-letters/${dlId}/retry`, { key: tenant.key });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ dead_letter_id: dlId, email_id: id, status: 'queued' });
    const email = await waitStatus(id, 'sent');
    expect(email.events.map((e: { type: string }) => e.type)).toContain('retried');

    const again = await h.request('POST', `/dead-letters/${dlId}/retry`, { key: tenant.key });
    expect(again.status).toBe(409);
    const pending = await h.request('GET', '/dead-letters', { key: tenant.key });
    expect(pending.body.items.map((d: { id: string }) => d.id)).not.toContain(dlId);
    const all = await h.request('GET', '/dead-letters?include_retried=true', { key: tenant.key });
    expect(all.body.items.find((d: { id: string }) => d.id === dlId).retried_at).not.toBeNull();
  });

  it("never shows one tenant's dead letters to another", async () => {
    const mine = await h.request('GET', '/dead-letters?include_retried=true', { key: tenant.key });
    expect(mine.body.items.length).toBeGreaterThan(0);
    const theirs = await h.request('GET', '/dead-letters?include_retried=true', { key: other.key });
    expect(theirs.body.items).toEqual([]);
    const one = await h.request('GET', `/dead-letters/${mine.body.items[0].id}`, { key: other.key });
    expect(one.status).toBe(404);
  });
});
