import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrashRig, startCrashRig } from '../support/crash-rig.js';
import { eventually } from '../support/harness.js';
import type { SystemProcess } from '../support/system-process.js';

/**
 * `kill -9` of the whole process (API, workers and recovery in one, as `npm start` runs them) in
 * the middle of 200 sends: every email that was answered 202 is delivered after a restart.
 */
describe('a process killed with SIGKILL', () => {
  let rig: CrashRig;

  beforeAll(async () => {
    rig = await startCrashRig({
      name: 'crash',
      sink: { latencyMs: 15, keep: 10_000 },
      env: { WORKER_CONCURRENCY: '4', LEASE_SECONDS: '2', RECOVERY_GRACE_SECONDS: '3' },
    });
  });
  afterAll(async () => {
    await rig?.close();
  });

  const send = async (sys: SystemProcess, i: number) => {
    const res = await sys.post<{ email_id: string }>('/send', {
      recipient: { email: `crash-${i}@example.com` },
      template_id: sys.templateId,
      variables: { name: String(i) },
      idempotency_key: `crash-${i}`,
    });
    return res.status === 202 ? res.body.email_id : null;
  };

  it('delivers every accepted email after a restart', { timeout: 120_000 }, async () => {
    const first = await rig.start();
    const accepted = new Map<number, string>();
    let next = 0;
    // Four clients send while the process is killed under them.
    const client = async (sys: SystemProcess) => {
      while (next < 200) {
        const i = next++;
        try {
          const id = await send(sys, i);
          if (id) accepted.set(i, id);
        } catch {
          return; // the process died under this request: not accepted
        }
      }
    };
    const clients = [0, 1, 2, 3].map(() => client(first));
    await eventually(async () => accepted.size >= 100, 30_000, 5);
    await rig.stop('SIGKILL');
    await Promise.all(clients);
    const acceptedBeforeKill = accepted.size;
    const { rows: sentBefore } = await rig.pool.query(
      `SELECT count(*)::int AS n FROM emails WHERE status = 'sent' AND id = ANY($1::uuid[])`,
      [[...accepted.values()]],
    );
    // The premise: the kill left accepted mail undelivered.
    expect(sentBefore[0].n).toBeLessThan(acceptedBeforeKill);

    const second = await rig.start();
    // Requests that died with the process are retried with the same idempotency key, as a client would.
    next = 0;
    const retryAll = async (sys: SystemProcess) => {
      for (let i = 0; i < 200; i++) {
        if (accepted.has(i)) continue;
        const id = await send(sys, i);
        if (id) accepted.set(i, id);
      }
    };
    await retryAll(second);
    expect(accepted.size).toBe(200);

    const ids = [...accepted.values()];
    await eventually(
      async () => {
        const { rows } = await rig.pool.query(
          `SELECT count(*)::int AS n FROM emails WHERE status = 'sent' AND id = ANY($1::uuid[])`,
          [ids],
        );
        return rows[0].n === 200;
      },
      40_000,
      200,
    );
    const perRecipient = rig.sink.perRecipient();
    for (let i = 0; i < 200; i++)
      expect(perRecipient.get(`crash-${i}@example.com`) ?? 0).toBeGreaterThanOrEqual(1);
    // At-least-once after a crash: only mail that was in the relay's hands at the kill may go twice,
    // at most one per busy worker slot.
    const twice = [...perRecipient.values()].filter((n) => n > 1).length;
    expect(twice).toBeLessThanOrEqual(4);
    const { rows: counts } = await rig.pool.query('SELECT count(*)::int AS n FROM emails');
    expect(counts[0].n).toBe(200);
  });

  it('delivers every recipient of a bulk job interrupted by SIGKILL, once', {
    timeout: 120_000,
  }, async () => {
    await rig.stop('SIGTERM');
    rig.sink.clear();
    const sys = await rig.start();
    const recipients = Array.from({ length: 1000 }, (_, i) => ({
      email: `bulk-${i}@example.com`,
      variables: { name: String(i) },
    }));
    const res = await sys.post('/send/bulk', {
      template_id: sys.templateId,
      recipients,
      idempotency_key: 'crash-bulk',
    });
    expect(res.status).toBe(202);
    const jobId = res.body.bulk_job_id;
    // Kill it while it is still fanning out or delivering.
    await eventually(async () => rig.sink.server.messages().length >= 50, 30_000, 5);
    await rig.stop('SIGKILL');
    const { rows: before } = await rig.pool.query(
      `SELECT count(*)::int AS n FROM emails WHERE bulk_job_id = $1 AND status = 'sent'`,
      [jobId],
    );
    expect(before[0].n).toBeLessThan(1000);

    const restarted = await rig.start();
    await eventually(
      async () => {
        const r = await fetch(`${restarted.baseUrl}/bulk/${jobId}`, {
          headers: { authorization: `Bearer ${restarted.apiKey}` },
        });
        const body = (await r.json()) as { status: string; sent: number };
        return body.status === 'completed' ? body : null;
      },
      90_000,
      250,
    );
    const { rows } = await rig.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT recipient_email)::int AS d FROM emails WHERE bulk_job_id = $1 AND status = 'sent'`,
      [jobId],
    );
    expect(rows[0]).toEqual({ n: 1000, d: 1000 });
    const perRecipient = rig.sink.perRecipient('bulk-');
    expect(perRecipient.size).toBe(1000);
    // Only what the relay had in hand at the kill may go twice: at most one per worker slot.
    expect([...perRecipient.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(4);
  });

  it('shuts down gracefully on SIGTERM: running deliveries finish, nothing is left claimed', {
    timeout: 60_000,
  }, async () => {
    await rig.stop('SIGTERM');
    const sys = await rig.start();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await sys.post('/send', {
        recipient: { email: `term-${i}@example.com` },
        template_id: sys.templateId,
        variables: { name: 'T' },
      });
      ids.push(res.body.email_id as string);
    }
    await eventually(
      async () => rig.sink.server.messages().some((m) => m.envelope.to[0]?.startsWith('term-')),
      20_000,
      5,
    );
    expect(await rig.stop('SIGTERM')).toBe(0);
    const { rows } = await rig.pool.query(
      `SELECT status, count(*)::int AS n FROM emails WHERE id = ANY($1::uuid[]) GROUP BY status`,
      [ids],
    );
    // Every email is either sent or still waiting its turn; none is stranded mid-delivery.
    expect(rows.filter((r) => r.status !== 'sent' && r.status !== 'queued')).toEqual([]);
  });
});
