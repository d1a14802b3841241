import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

// The render deadline the system runs with here; every latency bound below is far beneath it.
const DEADLINE_MS = 2000;

/** Probes /health/live every 20 ms until stopped; returns the slowest answer. */
function probeLiveness(h: Harness) {
  let worst = 0;
  let answered = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const r = await h.request('GET', '/health/live');
      expect(r.status).toBe(200);
      worst = Math.max(worst, performance.now() - started);
      answered++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worst, answered };
    },
  };
}

/** A `where_exp` over a large range with a 200-term expression: ran 31 s on the event loop before. */
const whereExpBomb = () => {
  const terms = Array.from({ length: 200 }, (_, i) => `x == ${i}`).join(' or ');
  return `{{ (1..100000) | where_exp: "x", "${terms}" | size }}`;
};
const nestedForBomb =
  '{% for a in (1..3000) %}{% for b in (1..3000) %}{% for c in (1..3000) %}{% endfor %}{% endfor %}{% endfor %}';

describe('templates render off the event loop', () => {
  let h: Harness;
  let hostile: { id: string; key: string };
  let other: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness({ env: { RENDER_THREADS: '2', RENDER_DEADLINE_MS: String(DEADLINE_MS) } });
    hostile = await h.createTenant('Hostile');
    other = await h.createTenant('Other');
  });
  afterAll(() => h?.close());

  const createTemplate = async (key: string, html: string) => {
    const r = await h.request('POST', '/templates', {
      key,
      body: { name: 'bomb', subject_template: 'S', html_template: html },
    });
    expect(r.status).toBe(201);
    return r.body.id as string;
  };

  it('refuses where_exp and nested-loop bombs with 422 while /health/live keeps answering', async () => {
    const whereExp = await createTemplate(hostile.key, whereExpBomb());
    const nested = await createTemplate(hostile.key, nestedForBomb);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const probe = probeLiveness(h);
    const answers = await Promise.all([
      h.request('POST', `/templates/${whereExp}/preview`, { key: hostile.key, body: {} }),
      h.request('POST', `/templates/${nested}/preview`, { key: hostile.key, body: {} }),
      h.request('POST', `/templates/${nested}/preview`, { key: hostile.key, body: {} }),
      h.request('POST', '/templates/preview', {
        key: hostile.key,
        body: { subject_template: 'S', html_template: nestedForBomb },
      }),
      h.request('POST', '/send', {
        key: hostile.key,
        body: { recipient: { email: 'victim@example.com' }, template_id: whereExp },
      }),
      h.request('POST', '/send', {
        key: hostile.key,
        body: { recipient: { email: 'victim@example.com' }, template_id: nested },
      }),
    ]);
    const { worst, answered } = await probe.stop();
    delay.disable();
    for (const r of answers) {
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('template_render_limit');
      expect(r.raw).not.toMatch(/ at |node_modules|\.ts:\d+/);
    }
    // Nothing was stored for the refused sends.
    expect(await h.sql('SELECT id FROM emails WHERE tenant_id = $1', [hostile.id])).toEqual([]);
    expect(answered).toBeGreaterThan(5);
    // Before, the event loop was held for the whole render (1 s per loop bomb, 31 s for where_exp).
    expect(worst).toBeLessThan(DEADLINE_MS / 2);
    expect(delay.max / 1e6).toBeLessThan(DEADLINE_MS / 2);
  }, 120_000);

  it("lets another tenant's sends through while one tenant previews 20 hostile templates at once", async () => {
    const bomb = await createTemplate(hostile.key, nestedForBomb);
    const fine = await h.createTemplate(other.key, { name: 'ok' });
    const storm = Array.from({ length: 20 }, () =>
      h.request('POST', `/templates/${bomb}/preview`, { key: hostile.key, body: {} }),
    );
    // Let the storm take its threads first.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sendTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const r = await h.request('POST', '/send', {
        key: other.key,
        body: {
          recipient: { email: `calm${i}@example.com` },
          template_id: fine,
          variables: { name: 'Calm' },
        },
      });
      sendTimes.push(performance.now() - started);
      expect(r.status).toBe(202);
    }
    const stormAnswers = await Promise.all(storm);
    for (const r of stormAnswers) {
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('template_render_limit');
    }
    // Each send waited for no hostile render: before, they queued behind seconds of blocked loop.
    expect(Math.max(...sendTimes)).toBeLessThan(DEADLINE_MS);
    await eventually(
      async () => (await h.sink.messages()).filter((m) => /calm\d/.test(m.envelope.to[0] ?? '')).length === 5,
      30_000,
    );
  }, 120_000);

  it('fails a delivery whose render exceeds a limit permanently, with a dead letter', async () => {
    // Bulk acceptance checks only names; this recipient's own variable makes its render huge.
    const tpl = await h.createTemplate(other.key, {
      name: 'sized',
      subject_template: 'Hi',
      html_template: '{% for i in (1..n) %}x{% endfor %}',
    });
    const r = await h.request('POST', '/send/bulk', {
      key: other.key,
      body: {
        template_id: tpl,
        recipients: [
          { email: 'small@example.com', variables: { n: 3 } },
          { email: 'huge@example.com', variables: { n: 100_000_000 } },
        ],
      },
    });
    expect(r.status).toBe(202);
    const failed = await eventually(async () => {
      const rows = await h.sql<{ id: string; status: string; attempts: number }>(
        `SELECT id, status, attempts FROM emails WHERE tenant_id = $1 AND recipient_email = 'huge@example.com'`,
        [other.id],
      );
      return rows[0]?.status === 'failed' ? rows[0] : null;
    }, 30_000);
    expect(failed.attempts).toBe(1);
    const dead = await h.request('GET', '/dead-letters', { key: other.key });
    expect(dead.status).toBe(200);
    const letter = dead.body.items.find((d: { email_id: string }) => d.email_id === failed.id);
    expect(letter).toBeDefined();
    expect(JSON.stringify(letter)).toContain('limit');
    await eventually(async () =>
      (await h.sink.messages()).some((m) => m.envelope.to[0] === 'small@example.com'),
    );
    expect((await h.sink.messages()).some((m) => m.envelope.to[0] === 'huge@example.com')).toBe(false);
  }, 120_000);
});
