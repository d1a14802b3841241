import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('scheduled sends', () => {
  let h: Harness;
  let t: { id: string; key: string };
  let other: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    // A long grace keeps the recovery loop out of the way: promotion must come from mail.scheduled.
    h = await startHarness({ env: { RECOVERY_GRACE_SECONDS: '60' } });
    t = await h.createTenant();
    other = await h.createTenant();
    templateId = await h.createTemplate(t.key);
  });
  afterAll(() => h?.close());

  const send = (email: string, sendAt: Date | string) =>
    h.request('POST', '/send', {
      key: t.key,
      body: {
        recipient: { email },
        template_id: templateId,
        variables: { name: 'S' },
        send_at: typeof sendAt === 'string' ? sendAt : sendAt.toISOString(),
      },
    });

  it('holds an email until send_at and delivers it then, not before', async () => {
    const sendAt = new Date(Date.now() + 1500);
    const r = await send('later@example.com', sendAt);
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('scheduled');
    expect((await h.request('GET', `/emails/${r.body.email_id}`, { key: t.key })).body.send_at).toBe(
      sendAt.toISOString(),
    );

    const msg = await eventually(
      async () => h.sink.server.messages().find((m) => m.envelope.to[0] === 'later@example.com'),
      10_000,
      20,
    );
    expect(msg.receivedAt.getTime()).toBeGreaterThanOrEqual(sendAt.getTime());
    const email = await eventually(async () => {
      const e = await h.request('GET', `/emails/${r.body.email_id}`, { key: t.key });
      return e.body.status === 'sent' ? e.body : null;
    });
    expect(email.events.map((e: { type: string }) => e.type)).toEqual([
      'scheduled',
      'queued',
      'processing',
      'sent',
    ]);
  });

  it('sends at once when send_at is in the past', async () => {
    const r = await send('past@example.com', new Date(Date.now() - 60_000));
    expect(r.body.status).toBe('queued');
    await eventually(async () =>
      h.sink.server.messages().some((m) => m.envelope.to[0] === 'past@example.com'),
    );
  });

  it('cancels a scheduled email: it is never sent, and cancelling again is a 409', async () => {
    const r = await send('cancel-me@example.com', new Date(Date.now() + 1000));
    const c = await h.request('POST', `/emails/${r.body.email_id}/cancel`, { key: t.key });
    expect(c.status).toBe(200);
    expect(c.body).toEqual({ email_id: r.body.email_id, status: 'cancelled' });
    await new Promise((res) => setTimeout(res, 2000));
    expect(h.sink.server.messages().some((m) => m.envelope.to[0] === 'cancel-me@example.com')).toBe(false);
    const again = await h.request('POST', `/emails/${r.body.email_id}/cancel`, { key: t.key });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({
      code: 'email_not_cancellable',
      details: { status: 'cancelled' },
    });
  });

  it('answers 409 when cancelling an email that was already sent', async () => {
    const r = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'now@example.com' }, template_id: templateId, variables: { name: 'S' } },
    });
    await eventually(
      async () =>
        (await h.request('GET', `/emails/${r.body.email_id}`, { key: t.key })).body.status === 'sent',
    );
    const c = await h.request('POST', `/emails/${r.body.email_id}/cancel`, { key: t.key });
    expect(c.status).toBe(409);
    expect(c.body.error.details.status).toBe('sent');
  });

  it('answers 404 when another tenant tries to cancel, and the email stays scheduled', async () => {
    const r = await send('mine@example.com', new Date(Date.now() + 3600_000));
    const c = await h.request('POST', `/emails/${r.body.email_id}/cancel`, { key: other.key });
    expect(c.status).toBe(404);
    expect((await h.request('GET', `/emails/${r.body.email_id}`, { key: t.key })).body.status).toBe(
      'scheduled',
    );
  });

  it('answers 400 for a send_at that is not a valid time', async () => {
    for (const bad of ['next tuesday', '2026-02-30T10:00:00Z', '1700000000']) {
      const r = await send('bad@example.com', bad);
      expect(r.status).toBe(400);
      expect(r.body.error.details[0].field).toBe('send_at');
    }
  });

  it('promotes a scheduled email through the recovery loop when its timer is lost', async () => {
    const r = await send('lost-timer@example.com', new Date(Date.now() + 800));
    // Lose the timer, as a Redis flush would.
    const redis = new Redis(h.config.redisUrl);
    try {
      const key = `${h.prefix}:mail.scheduled`;
      expect(await redis.zrem(`${key}:delayed`, r.body.email_id)).toBe(1);
      await redis.del(`${key}:${r.body.email_id}`);
    } finally {
      redis.disconnect();
    }
    await eventually(
      async () => h.sink.server.messages().some((m) => m.envelope.to[0] === 'lost-timer@example.com'),
      15_000,
    );
  });
});
