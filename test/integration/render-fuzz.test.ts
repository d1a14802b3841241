import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import { Liquid } from 'liquidjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

// Short, so that a render the old code ran on the event loop (up to its own 1 s limit) shows.
const DEADLINE_MS = 1000;

// Every filter LiquidJS knows (the sandbox refuses or bounds some; the grammar still offers them).
const FILTERS = Object.keys(new Liquid().filters);

const name = fc.constantFrom('x', 'items', 'user', 'n', 'item', 's');
const bigNumber = fc.constantFrom(0, 1, 3, 100, 5000, 100_000, 10_000_000, 1e9);
const literal = fc.oneof(
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s.replace(/[{}%"\\]/g, ''))),
  fc.integer({ min: -5, max: 100 }).map(String),
  bigNumber.map(String),
  fc.constantFrom('true', 'false', 'nil', 'empty', 'blank'),
);
const range = fc.tuple(bigNumber, bigNumber).map(([a, b]) => `(${Math.min(a, 3)}..${b})`);
const expression = fc.oneof(
  name,
  literal,
  range,
  name.map((n) => `${n}.first`),
);
const filterCall = fc
  .tuple(fc.constantFrom(...FILTERS), fc.array(fc.oneof(literal, name, expression), { maxLength: 3 }))
  .map(([f, args]) => (args.length > 0 ? `${f}: ${args.join(', ')}` : f));
const output = fc
  .tuple(expression, fc.array(filterCall, { maxLength: 3 }))
  .map(([e, fs]) => `{{ ${[e, ...fs].join(' | ')} }}`);

const template: fc.Arbitrary<string> = fc.letrec<{ node: string; block: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    output,
    fc.string({ maxLength: 10 }).map((s) => s.replace(/[{}%]/g, '')),
    fc
      .tuple(name, expression, fc.array(filterCall, { maxLength: 2 }))
      .map(([n, e, fs]) => `{% assign ${n} = ${[e, ...fs].join(' | ')} %}`),
    fc.tuple(name, range, tie('block')).map(([n, r, b]) => `{% for ${n} in ${r} %}${b}{% endfor %}`),
    fc
      .tuple(name, range, tie('block'))
      .map(([n, r, b]) => `{% tablerow ${n} in ${r} cols:3 %}${b}{% endtablerow %}`),
    fc
      .tuple(expression, tie('block'), tie('block'))
      .map(([e, a, b]) => `{% if ${e} %}${a}{% else %}${b}{% endif %}`),
    fc.tuple(expression, tie('block')).map(([e, b]) => `{% unless ${e} %}${b}{% endunless %}`),
    fc
      .tuple(expression, literal, tie('block'))
      .map(([e, l, b]) => `{% case ${e} %}{% when ${l} %}${b}{% else %}x{% endcase %}`),
    fc.tuple(name, tie('block')).map(([n, b]) => `{% capture ${n} %}${b}{% endcapture %}`),
    name.map((n) => `{% increment ${n} %}{% decrement ${n} %}`),
    fc.array(literal, { minLength: 1, maxLength: 3 }).map((ls) => `{% cycle ${ls.join(', ')} %}`),
    expression.map((e) => `{% echo ${e} %}`),
    fc.constantFrom(
      '{% raw %}{{ x }}{% endraw %}',
      '{% comment %}c{% endcomment %}',
      '{% break %}',
      '{% continue %}',
    ),
  ),
  block: fc.array(tie('node'), { maxLength: 3 }).map((nodes) => nodes.join('')),
})).block;

describe('random Liquid from the tag and filter grammar', () => {
  let h: Harness;
  let t: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness({ env: { RENDER_THREADS: '2', RENDER_DEADLINE_MS: String(DEADLINE_MS) } });
    t = await h.createTenant('Fuzz');
  });
  afterAll(() => h?.close());

  it('never blocks the event loop beyond the deadline and never answers 5xx', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(template, template, async (html, subject) => {
        const r = await h.request('POST', '/templates/preview', {
          key: t.key,
          body: {
            subject_template: subject.slice(0, 500),
            html_template: html,
            variables: { x: 'a', items: [1, 2, 3], user: { name: 'Ann' }, n: 5, item: 'i', s: 'str' },
          },
        });
        seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
        expect(r.status).toBeLessThan(500);
        if (r.status >= 400) expect(r.body.error.code).toEqual(expect.any(String));
      }),
      { numRuns: 60, interruptAfterTimeLimit: 150_000 },
    );
    delay.disable();
    expect(delay.max / 1e6).toBeLessThan(DEADLINE_MS);
    // The grammar reaches both outcomes: rendered templates and refused ones.
    expect(seen.get(200) ?? 0).toBeGreaterThan(0);
    expect([...seen.keys()].some((s) => s >= 400)).toBe(true);
  }, 200_000);
});
