/**
 * The cost of rendering one email of a typical template (a greeting, a loop over order lines, a
 * few filters, a derived plain-text part) through the render pool, beside the baseline measured in
 * the same run: the same renderer called directly on the event loop, as before the pool.
 *
 *   npm run bench:render     (BENCH_EMAILS=3000 BENCH_CONCURRENCY=20 by default)
 *
 * Prints, for each: emails per second with BENCH_CONCURRENCY renders in flight (as workers and
 * API requests issue them), the mean cost per email, and the p50/p99 latency of one render.
 * Also prints how long the event loop was held at worst, which is the point of the pool.
 */
import { RenderPool } from '../src/templates/render-pool.js';
import { inlineEngine, TemplateRenderer } from '../src/templates/renderer.js';
import type { TemplateEngine, TemplateSource } from '../src/templates/renderer.port.js';

const EMAILS = Number(process.env.BENCH_EMAILS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 20);

const source: TemplateSource = {
  cacheKey: 'bench@1',
  tenantId: 'bench',
  subject: 'Your order {{ order.number }}, {{ name | capitalize }}',
  html:
    '<h1>Thanks, {{ name | escape }}</h1><table>{% for line in order.lines %}<tr><td>{{ line.title }}</td>' +
    '<td>{{ line.qty }}</td><td>{{ line.price | times: line.qty | round: 2 }}</td></tr>{% endfor %}</table>' +
    '<p>Total: {{ order.lines | map: "price" | sum | round: 2 }}</p>{% if vip %}<p>VIP</p>{% endif %}' +
    '<p><a href="{{ url }}">Track your parcel</a></p>',
  text: null,
};
const variablesFor = (i: number) => ({
  name: `customer ${i}`,
  vip: i % 3 === 0,
  url: `https://shop.example/track/${i}`,
  order: {
    number: 10_000 + i,
    lines: Array.from({ length: 5 }, (_, j) => ({ title: `Item ${j}`, qty: 1 + (j % 3), price: 9.99 + j })),
  },
});

async function measure(label: string, engine: TemplateEngine) {
  // Warm up: parse once (per thread for the pool), let the JIT settle.
  await Promise.all(Array.from({ length: 200 }, (_, i) => engine.render(source, variablesFor(i))));
  // A timer that should tick every 5 ms: the longest gap is how long the event loop was held.
  let last = performance.now();
  let held = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    held = Math.max(held, now - last);
    last = now;
  }, 5);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < EMAILS) {
        const i = next++;
        const t = performance.now();
        await engine.render(source, variablesFor(i));
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 10));
  clearInterval(ticker);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  const perSecond = EMAILS / (elapsed / 1000);
  console.log(
    `${label.padEnd(28)} ${perSecond.toFixed(0).padStart(6)} emails/s  ${((elapsed / EMAILS) * 1000).toFixed(0).padStart(5)} µs/email  ` +
      `p50 ${pct(0.5).toFixed(2)} ms  p99 ${pct(0.99).toFixed(2)} ms  event loop held ≤ ${held.toFixed(0)} ms`,
  );
  return perSecond;
}

const direct = await measure('direct (baseline)', inlineEngine(new TemplateRenderer()));
const pool = new RenderPool({ threads: Number(process.env.RENDER_THREADS ?? 2) });
const pooled = await measure(`pool (${process.env.RENDER_THREADS ?? 2} threads)`, pool);
await pool.close();
console.log(
  `pool / direct throughput: ${(pooled / direct).toFixed(2)}×  (${EMAILS} emails, ${CONCURRENCY} in flight)`,
);
