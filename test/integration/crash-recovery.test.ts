import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrashRig, startCrashRig } from '../support/crash-rig.js';
import { eventually } from '../support/harness.js';

/**
 * `kill -9` during 200 sends with the default 120 s lease and recovery settings: the emails the
 * dead process had claimed are released by its missing heartbeat, not by their lease, so every
 * accepted email goes out within 30 s of the restarted process being ready.
 */
describe('crash recovery in seconds', () => {
  let rig: CrashRig;

  beforeAll(async () => {
    rig = await startCrashRig({
      name: 'crashhb',
      // A slow relay, so that many emails are in a worker's hands when the process dies.
      sink: { latencyMs: 150, keep: 10_000 },
      env: {
        WORKER_CONCURRENCY: '10',
        // The defaults: nothing here may wait for a lease to run out.
        LEASE_SECONDS: '120',
        JOB_LOCK_SECONDS: '10',
        RECOVERY_INTERVAL_SECONDS: '5',
        RECOVERY_GRACE_SECONDS: '60',
      },
    });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('delivers every accepted email within 30 s of ready after kill -9', { timeout: 150_000 }, async () => {
    const sys = await rig.start();
    const accepted: string[] = [];
    let next = 0;
    const client = async () => {
      while (next < 200) {
        const i = next++;
        try {
          const res = await sys.post('/send', {
            recipient: { email: `hb-${i}@example.com` },
            template_id: sys.templateId,
            variables: { name: String(i) },
          });
          if (res.status === 202) accepted.push(res.body.email_id as string);
        } catch {
          return;
        }
      }
    };
    const clients = [0, 1, 2, 3].map(() => client());
    await eventually(async () => accepted.length >= 150, 60_000, 5);
    await rig.stop('SIGKILL');
    await Promise.all(clients);

    const { rows: inFlight } = await rig.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM emails WHERE status = 'processing' AND lease_until > now()",
    );
    // The premise: the kill left claims whose lease would hold them for two minutes.
    expect(inFlight[0]?.n).toBeGreaterThan(0);

    await rig.start();
    const ready = Date.now();
    await eventually(
      async () => {
        const { rows } = await rig.pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM emails WHERE status = 'sent' AND id = ANY($1::uuid[])",
          [accepted],
        );
        return rows[0]?.n === accepted.length;
      },
      30_000,
      200,
    ).catch(async (e) => {
      // What was left behind, for whoever reads the failure.
      const { rows } = await rig.pool.query(
        `SELECT status, attempts, provider_deferrals, claimed_by, lease_until > now() AS leased,
                next_attempt_at, last_error FROM emails WHERE status <> 'sent' AND id = ANY($1::uuid[])`,
        [accepted],
      );
      console.log(JSON.stringify(rows, null, 1));
      throw e;
    });
    const took = Date.now() - ready;
    console.log(
      `crash recovery: ${inFlight[0]?.n} claims of the dead process; all ${accepted.length} sent ${took} ms after ready`,
    );
    expect(took).toBeLessThan(30_000);
  });
});
