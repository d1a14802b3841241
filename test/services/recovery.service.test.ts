import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deliveriesRepository } from '../../src/db/deliveries.repository.js';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { sendBatchJob, sendBatchJobId } from '../../src/queue/jobs.js';
import { recoveryService } from '../../src/services/recovery.service.js';
import {
  insertEmail,
  recordingDispatcher,
  type ServiceDb,
  seedTenant,
  serviceDb,
} from '../support/services.js';

describe('recovery decisions', () => {
  let s: ServiceDb;
  let seed: { tenantId: string; templateId: string };
  const queue = recordingDispatcher();
  const build = (batchSize = 100) =>
    recoveryService({
      db: s.db,
      deliveries: deliveriesRepository(s.db),
      dispatcher: queue.dispatcher,
      graceSeconds: 60,
      batchSize,
    });
  const insert = (extra = {}) => insertEmail(emailsRepository(s.db), seed, extra);
  /** Makes an email's due time `seconds` ago (it was accepted then and its job never ran). */
  const age = (id: string, seconds: number) =>
    s.sql(`UPDATE emails SET next_attempt_at = now() - make_interval(secs => $2) WHERE id = $1`, [
      id,
      seconds,
    ]);

  beforeAll(async () => {
    s = await serviceDb();
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(async () => {
    await s.sql('DELETE FROM email_events');
    await s.sql('DELETE FROM emails');
    seed = await seedTenant(s.db);
    queue.clear();
  });

  it('re-dispatches a queued email whose job is overdue past the grace, and leaves a recent one', async () => {
    const lost = await insert();
    const recent = await insert();
    await age(lost, 120);
    await age(recent, 5);
    const r = await build().tick();
    expect(r).toMatchObject({ leader: true, brokerReset: false, redispatched: 1 });
    expect(queue.sentIds()).toEqual([lost]);
  });

  it('leaves overdue emails to the shared job the queue still holds, and dispatches each alone once it is gone', async () => {
    const batch = randomUUID();
    const a = await insert({ sendBatch: batch });
    const b = await insert({ sendBatch: batch });
    const alone = await insert();
    for (const id of [a, b, alone]) await age(id, 120);
    await queue.dispatcher.dispatch('mail.send', [sendBatchJob(batch, [a, b])]);
    expect(await build().tick()).toMatchObject({ redispatched: 1 });
    expect(queue.dispatched.map((d) => d.job.jobId)).toEqual([sendBatchJobId(batch), `${alone}.0`]);

    queue.clear(); // the shared job is gone (lost, or run without sending these)
    expect(await build().tick()).toMatchObject({ redispatched: 3 });
    expect(queue.sentIds().sort()).toEqual([a, b, alone].sort());
  });

  it('forgets the shared job from the first claim on', async () => {
    const a = await insert({ sendBatch: randomUUID() });
    expect(await deliveriesRepository(s.db).claim(a, 60)).not.toBeNull();
    expect(await s.sql('SELECT send_batch FROM emails WHERE id = $1', [a])).toEqual([{ send_batch: null }]);
  });

  it("holds a suspended tenant's overdue mail", async () => {
    const held = await insert();
    await age(held, 120);
    await s.sql(`UPDATE tenants SET status = 'suspended' WHERE id = $1`, [seed.tenantId]);
    expect((await build().tick()).redispatched).toBe(0);
    expect(queue.sentIds()).toEqual([]);
  });

  it('promotes a scheduled email whose time has come, with its queued event, and leaves a future one', async () => {
    const due = await insert({ status: 'scheduled', sendAt: new Date(Date.now() - 1_000) });
    const later = await insert({ status: 'scheduled', sendAt: new Date(Date.now() + 3_600_000) });
    const r = await build().tick();
    expect(r).toMatchObject({ promoted: 1, redispatched: 1 });
    expect(queue.sentIds()).toEqual([due]);
    const rows = await s.sql<{ id: string; status: string }>('SELECT id, status FROM emails ORDER BY status');
    expect(rows).toEqual(
      expect.arrayContaining([
        { id: due, status: 'queued' },
        { id: later, status: 'scheduled' },
      ]),
    );
    const events = await s.sql<{ type: string; data: unknown }>(
      'SELECT type, data FROM email_events WHERE email_id = $1 ORDER BY id',
      [due],
    );
    expect(events.map((e) => e.type)).toEqual(['scheduled', 'queued']);
    expect(events[1]?.data).toEqual({ from: 'scheduled' });
  });

  it("re-dispatches a claim whose worker's lease ran out, for its attempt", async () => {
    const id = await insert();
    await s.sql(
      `UPDATE emails SET status = 'processing', attempts = 2, lease_until = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    const live = await insert();
    await s.sql(
      `UPDATE emails SET status = 'processing', attempts = 1, lease_until = now() + interval '1 minute' WHERE id = $1`,
      [live],
    );
    await build().tick();
    expect(queue.dispatched.map((d) => d.job.payload)).toEqual([{ emailId: id }]);
    expect(queue.dispatched[0]?.job.jobId).toContain(id);
  });

  it('after the broker lost its data, sweeps the whole backlog at once, past the grace and page by page', async () => {
    const ids = [];
    for (let i = 0; i < 25; i++) ids.push(await insert());
    queue.resetBroker();
    const r = await build(10).tick();
    expect(r).toMatchObject({ brokerReset: true, redispatched: 25 });
    expect(new Set(queue.sentIds())).toEqual(new Set(ids));
    // The next tick is a normal one again: nothing is past the grace.
    queue.clear();
    expect((await build(10).tick()).redispatched).toBe(0);
  });

  it('after a tick that failed, sweeps without the grace once', async () => {
    const recent = await insert();
    const recovery = build();
    queue.fail(true);
    await age(recent, 120);
    await expect(recovery.tick()).rejects.toThrow('broker unavailable');
    queue.fail(false);
    await age(recent, 5); // accepted while the broker was away: its dispatch may have failed too
    const r = await recovery.tick();
    expect(r).toMatchObject({ brokerReset: true, redispatched: 1 });
    expect(queue.sentIds()).toEqual([recent]);
  });

  it('lets one process lead a tick at a time', async () => {
    const id = await insert();
    await age(id, 120);
    const [a, b] = await Promise.all([build().tick(), build().tick()]);
    expect([a.leader, b.leader].sort()).toEqual([false, true]);
    expect(queue.sentIds()).toEqual([id]);
  });
});
