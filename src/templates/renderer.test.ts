import { describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import { TemplateRenderer } from './renderer.js';
import type { TemplateSource } from './renderer.port.js';

let keySeq = 0;
function source(parts: Partial<Omit<TemplateSource, 'cacheKey'>>, cacheKey?: string): TemplateSource {
  keySeq += 1;
  return {
    cacheKey: cacheKey ?? `test-${keySeq}@1`,
    subject: parts.subject ?? 'Subject',
    html: parts.html ?? '<p>Body</p>',
    text: parts.text === undefined ? null : parts.text,
  };
}

async function renderError(
  renderer: TemplateRenderer,
  src: TemplateSource,
  variables: Record<string, unknown>,
): Promise<AppError> {
  try {
    const result = await renderer.render(src, variables);
    throw new Error(`expected render to fail, got ${JSON.stringify(result)}`);
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
}

function validateError(
  renderer: TemplateRenderer,
  src: Parameters<TemplateRenderer['validate']>[0],
): AppError {
  try {
    renderer.validate(src);
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected validate to fail');
}

/** Everything a client could see from a failure or a success. */
function visible(value: unknown): string {
  if (value instanceof AppError) return `${value.message} ${JSON.stringify(value.details)}`;
  return JSON.stringify(value);
}

describe('TemplateRenderer.render', () => {
  it('renders variables, nested properties and the text template', async () => {
    const renderer = new TemplateRenderer();
    const result = await renderer.render(
      source({
        subject: 'Welcome, {{ name }}',
        html: '<p>Hi {{ name }}, your plan is {{ plan.label }}</p>',
        text: 'Hi {{ name }} ({{ plan.label }})',
      }),
      { name: 'Ann', plan: { label: 'Pro' } },
    );
    expect(result).toEqual({
      subject: 'Welcome, Ann',
      html: '<p>Hi Ann, your plan is Pro</p>',
      text: 'Hi Ann (Pro)',
    });
  });

  it('escapes output in the html part only, and lets | raw opt out', async () => {
    const renderer = new TemplateRenderer();
    const payload = '<script>alert("x")</script>';
    const result = await renderer.render(
      source({
        subject: 'Re: {{ evil }}',
        html: '<p>{{ evil }}</p><div>{% echo evil %}</div><i>{{ trusted | raw }}</i>',
        text: 'Text: {{ evil }}',
      }),
      { evil: payload, trusted: '<b>bold</b>' },
    );
    expect(result.html).toBe(
      '<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>' +
        '<div>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</div><i><b>bold</b></i>',
    );
    expect(result.html).not.toContain('<script>');
    expect(result.subject).toBe(`Re: ${payload}`);
    expect(result.text).toBe(`Text: ${payload}`);
  });

  it('derives the text part from the rendered html when there is no text template', async () => {
    const renderer = new TemplateRenderer();
    const result = await renderer.render(
      source({
        html:
          '<h1>Hello {{ name }}</h1><p>Please <a href="{{ url }}">confirm your address</a>.</p>' +
          '<img src="https://t.example/pixel.gif" alt="pixel">',
        text: null,
      }),
      { name: 'Ann <ann@example.com>', url: 'https://app.example/confirm?t=abc' },
    );
    expect(result.html).toContain('Hello Ann &lt;ann@example.com&gt;');
    // html-to-text decodes the entities: the plain-text part shows what the reader saw.
    expect(result.text).toContain('Hello Ann <ann@example.com>');
    expect(result.text).toContain('confirm your address [https://app.example/confirm?t=abc]');
    expect(result.text).not.toContain('<h1>');
    expect(result.text).not.toContain('pixel');
  });

  it('uses the text template, not the html, when one is given', async () => {
    const renderer = new TemplateRenderer();
    const result = await renderer.render(
      source({ html: '<p>HTML version for {{ name }}</p>', text: 'Plain version for {{ name }}' }),
      { name: 'Bo' },
    );
    expect(result.text).toBe('Plain version for Bo');
  });

  it('supports standard filters; default applies to null but not to an absent variable', async () => {
    const renderer = new TemplateRenderer();
    const result = await renderer.render(
      source({
        subject: '{{ name | upcase }} {{ nickname | default: "friend" }}',
        html: '<p>{{ items | join: ", " }} {{ price | times: 2 }} {{ title | truncate: 8 }}</p>',
      }),
      { name: 'ann', nickname: null, items: ['a', 'b'], price: 21, title: 'A very long title' },
    );
    expect(result.subject).toBe('ANN friend');
    expect(result.html).toBe('<p>a, b 42 A ver...</p>');

    // strictVariables applies before the filter runs: `| default` does not make a variable optional.
    const err = await renderError(renderer, source({ subject: '{{ nickname | default: "friend" }}' }), {});
    expect(err.code).toBe('missing_variables');
    expect(err.details).toEqual({ missing: ['nickname'] });
  });

  it('supports for and if with Liquid (not JavaScript) truthiness', async () => {
    const renderer = new TemplateRenderer();
    const result = await renderer.render(
      source({
        html:
          '{% for item in items %}{{ forloop.index }}:{{ item.name }}{% unless forloop.last %},{% endunless %}{% endfor %}' +
          '|{% if vip %}VIP{% else %}regular{% endif %}|{% if zero %}zero-truthy{% endif %}|{% if empty %}empty-truthy{% endif %}' +
          '|{% for x in none %}x{% else %}no items{% endfor %}',
      }),
      { items: [{ name: 'a' }, { name: 'b' }], vip: false, zero: 0, empty: '', none: [] },
    );
    expect(result.html).toBe('1:a,2:b|regular|zero-truthy|empty-truthy|no items');
  });

  it('lists every missing top-level variable at once, sorted, ignoring template locals', async () => {
    const renderer = new TemplateRenderer();
    const err = await renderError(
      renderer,
      source({
        subject: 'Hi {{ name }}',
        html:
          '{% assign greeting = "hey" %}{% capture sig %}-- team{% endcapture %}' +
          '{{ greeting }} {{ user.email }} {{ plan }} {{ name }} {% for item in items %}{{ item }}{% endfor %}{{ sig }}',
        text: '{{ plan }} {{ user.email }}',
      }),
      { items: [1] },
    );
    expect(err.code).toBe('missing_variables');
    expect(err.status).toBe(422);
    expect(err.details).toEqual({ missing: ['name', 'plan', 'user'] });
  });

  it('reports a missing property of a given object by its path', async () => {
    const renderer = new TemplateRenderer();
    const err = await renderError(renderer, source({ html: '{{ user.email }}' }), { user: { name: 'x' } });
    expect(err.code).toBe('missing_variables');
    expect(err.details).toEqual({ missing: ['user.email'] });
  });

  it('treats functions and class instances in variables as absent rather than calling them', async () => {
    const renderer = new TemplateRenderer();
    let called = false;
    const fn = (): string => {
      called = true;
      return 'called';
    };
    const err = await renderError(renderer, source({ html: '{{ fn }} {{ map }}' }), {
      fn,
      map: new Map([['a', 1]]),
    });
    expect(err.code).toBe('missing_variables');
    expect(err.details).toEqual({ missing: ['fn', 'map'] });
    expect(called).toBe(false);
  });

  it('fails with template_render_failed on an unknown filter', async () => {
    const renderer = new TemplateRenderer();
    const err = await renderError(renderer, source({ html: '<p>{{ name | shout }}</p>' }), { name: 'x' });
    expect(err.code).toBe('template_render_failed');
    expect(err.details).toMatchObject({ field: 'html_template' });
    expect((err.details as { error: string }).error).toContain('undefined filter: shout');
  });

  it('caches the parsed template per cacheKey, evicting the least recently used', async () => {
    const renderer = new TemplateRenderer({ cacheSize: 2 });
    const vars = { name: 'Ann' };
    const first = await renderer.render(source({ subject: 'v1 {{ name }}' }, 'tpl-a@1'), vars);
    // A version is immutable, so the same key must not be re-parsed: the cached form wins.
    const again = await renderer.render(source({ subject: 'CHANGED {{ name }}' }, 'tpl-a@1'), vars);
    expect(first.subject).toBe('v1 Ann');
    expect(again).toEqual(first);

    await renderer.render(source({ subject: 'b' }, 'tpl-b@1'), vars);
    await renderer.render(source({ subject: 'a' }, 'tpl-a@1'), vars); // a becomes most recent
    await renderer.render(source({ subject: 'c' }, 'tpl-c@1'), vars); // evicts b
    expect((await renderer.render(source({ subject: 'a2' }, 'tpl-a@1'), vars)).subject).toBe('v1 Ann');
    expect((await renderer.render(source({ subject: 'b2' }, 'tpl-b@1'), vars)).subject).toBe('b2');
  });

  it('does not let the variables object be changed by the template', async () => {
    const renderer = new TemplateRenderer();
    const vars = { count: 5, list: [1, 2] };
    await renderer.render(source({ html: '{% increment count %}{% assign list = "x" %}{{ list }}' }), vars);
    expect(vars).toEqual({ count: 5, list: [1, 2] });
  });
});

describe('TemplateRenderer.validate', () => {
  it('accepts valid templates, with or without a text template', () => {
    const renderer = new TemplateRenderer();
    expect(() =>
      renderer.validate({
        subject: 'Hi {{ name }}',
        html: '<p>{% if a %}{{ a }}{% endif %}</p>',
        text: null,
      }),
    ).not.toThrow();
    expect(() => renderer.validate({ subject: 'x', html: 'y', text: '{{ z | upcase }}' })).not.toThrow();
  });

  it.each([
    ['subject_template', { subject: 'Hi {{ name', html: '<p></p>', text: null }],
    ['html_template', { subject: 'ok', html: '{% if %}x{% endif %}', text: null }],
    ['text_template', { subject: 'ok', html: 'ok', text: '{% for x in y %}never closed' }],
    ['html_template', { subject: 'ok', html: '{{ x | no_such_filter }}', text: null }],
  ] as const)('names the field (%s) of a syntax error, without a stack', (field, src) => {
    const err = validateError(new TemplateRenderer(), src);
    expect(err.code).toBe('template_invalid');
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ field });
    const error = (err.details as { error: string }).error;
    expect(error.length).toBeGreaterThan(0);
    expect(error).not.toContain('\n');
    expect(error).not.toMatch(/node_modules|\.js:\d+| at /);
    expect(err.message).toContain(field);
  });

  it('enforces the per-field parse limit', () => {
    const renderer = new TemplateRenderer({ parseLimitChars: 50 });
    expect(() =>
      renderer.validate({ subject: 'x'.repeat(50), html: 'y'.repeat(50), text: null }),
    ).not.toThrow();
    const err = validateError(renderer, { subject: 'ok', html: 'y'.repeat(51), text: null });
    expect(err.code).toBe('template_render_limit');
    expect(err.details).toMatchObject({ field: 'html_template', error: expect.stringContaining('limit') });
  });
});

describe('sandbox', () => {
  const fileTags = [
    '{% include "/etc/passwd" %}',
    "{% render '/etc/passwd' %}",
    '{% layout "/etc/passwd" %}{% block x %}{% endblock %}',
    '{% include path %}',
    '{%- liquid\n  include "/etc/passwd"\n-%}',
    '{% render "../../../../etc/passwd", x: 1 %}',
  ];

  it.each(fileTags)('refuses %j at validate time', (tag) => {
    const renderer = new TemplateRenderer();
    for (const [field, src] of [
      ['subject_template', { subject: tag, html: 'ok', text: null }],
      ['html_template', { subject: 'ok', html: `<p>${tag}</p>`, text: null }],
      ['text_template', { subject: 'ok', html: 'ok', text: tag }],
    ] as const) {
      const err = validateError(renderer, src);
      expect(err.code).toBe('template_invalid');
      expect(err.details).toMatchObject({ field, error: expect.stringContaining('not allowed') });
      expect(visible(err)).not.toContain('root:');
    }
  });

  it.each(fileTags)('refuses %j at render time with nothing of the file in the error', async (tag) => {
    const renderer = new TemplateRenderer();
    const err = await renderError(renderer, source({ html: tag }), { path: '/etc/passwd' });
    expect(err.code).toBe('template_render_failed');
    expect(err.details).toMatchObject({
      field: 'html_template',
      error: expect.stringContaining('not allowed'),
    });
    expect(visible(err)).not.toMatch(/root:|\/bin\/|nologin/);
  });

  it.each([
    ['{{ range.constructor }}', { range: [1, 2] }],
    ['{{ "x".constructor.constructor("return process")() }}', {}],
    ['{{ "x".constructor }}', {}],
    ['{{ a.__proto__ }}', { a: { b: 1 } }],
    ['{{ a.constructor.prototype }}', { a: { b: 1 } }],
    ['{{ a["constructor"]["constructor"] }}', { a: {} }],
    ['{% assign x = "" | append: x.constructor %}{{ x }}', {}],
    ['{% assign s = "str" %}{{ s.constructor.name }}', {}],
    ['{{ constructor }}{{ toString }}', {}],
    ['{{ (1..3).constructor }}', {}],
    ['{{ items.constructor.constructor }}', { items: [] }],
  ] as const)('never reaches JavaScript objects via %s', async (template, variables) => {
    const renderer = new TemplateRenderer();
    for (const src of [
      source({ html: template }),
      source({ subject: template }),
      source({ text: template }),
    ]) {
      const err = await renderError(renderer, src, { ...variables });
      expect(['missing_variables', 'template_render_failed']).toContain(err.code);
      const seen = visible(err);
      expect(seen).not.toMatch(/\[native code\]|function|\[object process\]|Function\(|process\.env|NODE_/i);
      expect(seen).not.toContain(process.cwd());
    }
  });

  it('renders nothing from prototype properties reached through filters', async () => {
    const renderer = new TemplateRenderer();
    const items = [{ a: 1 }, { a: 2 }];
    const result = await renderer.render(
      source({
        subject: '[{{ items | map: "constructor" | join: "," }}]',
        html: '[{{ items | sort: "__proto__" | size }}][{{ items | sum: "constructor" }}]',
      }),
      { items },
    );
    expect(result.subject).toBe('[,]');
    expect(result.html).toBe('[2][0]');
    expect(visible(result)).not.toMatch(/function|native code|Object/);

    // where/reject/find/group_by apply strictVariables to the property they look up.
    for (const filter of ['where', 'reject', 'find', 'group_by']) {
      const arg = filter === 'find' ? '"constructor", 1' : '"constructor"';
      const err = await renderError(renderer, source({ html: `{{ items | ${filter}: ${arg} | json }}` }), {
        items,
      });
      expect(err.code).toBe('missing_variables');
      expect(err.details).toEqual({ missing: ['constructor'] });
    }
  });

  it('stops a render that runs past the time limit', async () => {
    const renderer = new TemplateRenderer({ renderTimeLimitMs: 200 });
    const err = await renderError(
      renderer,
      source({
        html: '{% for a in (1..3000) %}{% for b in (1..3000) %}{% for c in (1..3000) %}{% endfor %}{% endfor %}{% endfor %}',
      }),
      {},
    );
    expect(err.code).toBe('template_render_limit');
    expect((err.details as { error: string }).error).toContain('render limit exceeded');
  });

  it('stops runaway allocations with the memory limit', async () => {
    const renderer = new TemplateRenderer();
    const err = await renderError(
      renderer,
      source({ html: '{% for i in (1..100000000) %}x{% endfor %}' }),
      {},
    );
    expect(err.code).toBe('template_render_limit');
    expect((err.details as { error: string }).error).toContain('memory alloc limit exceeded');
  });

  it('enforces the output limit on a single part while it is being rendered', async () => {
    const renderer = new TemplateRenderer({ outputLimitBytes: 1000 });
    const ok = await renderer.render(source({ subject: 's', html: '{{ chunk }}', text: 't' }), {
      chunk: 'x'.repeat(998),
    });
    expect(ok.html).toHaveLength(998);
    const err = await renderError(
      renderer,
      source({ html: '{% for i in (1..1000000) %}{{ chunk }}{% endfor %}' }),
      { chunk: 'x'.repeat(50) },
    );
    expect(err.code).toBe('template_render_limit');
    expect((err.details as { error: string }).error).toContain('exceeds 1000 bytes');
  });

  it('enforces the output limit on the sum of the three parts, in UTF-8 bytes', async () => {
    const renderer = new TemplateRenderer({ outputLimitBytes: 1000 });
    const vars = { s: 'a'.repeat(400) };
    const err = await renderError(
      renderer,
      source({ subject: '{{ s }}', html: '{{ s }}', text: '{{ s }}' }),
      vars,
    );
    expect(err.code).toBe('template_render_limit');

    // 600 characters, but 1200 bytes.
    const wide = await renderError(renderer, source({ subject: 's', html: '{{ s }}', text: 't' }), {
      s: 'é'.repeat(600),
    });
    expect(wide.code).toBe('template_render_limit');

    const derived = await renderError(
      renderer,
      source({ subject: 's', html: '<p>{{ s }}</p>', text: null }),
      {
        s: 'a'.repeat(600),
      },
    );
    expect(derived.code).toBe('template_render_limit');
    expect(derived.details).toMatchObject({ field: 'text_template' });
  });
});

describe('TemplateRenderer.check', () => {
  const source = (html: string, text: string | null = null): TemplateSource => ({
    cacheKey: `check@${html.length}@${text}`,
    subject: 'Order {{ order }}',
    html,
    text,
  });

  it('answers the subject and refuses what render refuses, with the same errors', async () => {
    const r = new TemplateRenderer();
    expect(await r.check(source('<p>{{ order }} for {{ name }}</p>'), { order: 'A1', name: 'Ann' })).toEqual({
      subject: 'Order A1',
    });
    const missing = await r.check(source('<p>{{ item.qty }}</p>'), { order: 'A1', item: {} }).catch((e) => e);
    const rendered = await r
      .render(source('<p>{{ item.qty }}</p>'), { order: 'A1', item: {} })
      .catch((e) => e);
    expect(missing).toBeInstanceOf(AppError);
    expect([missing.code, missing.details]).toEqual([rendered.code, rendered.details]);
    const text = await r.check(source('<p>ok</p>', '{{ nope }}'), { order: 'A1' }).catch((e) => e);
    expect(text.code).toBe('missing_variables');
  });

  it('checks the size of the text derived from a large HTML part', async () => {
    const r = new TemplateRenderer({ outputLimitBytes: 150_000 });
    // 70 KB of rules: each becomes a 100-character line in the derived text.
    const err = await r
      .check(source('{% for i in (1..17500) %}<hr>{% endfor %}'), { order: 'A1' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('template_render_limit');
    expect(err.details).toMatchObject({ field: 'text_template' });
  });
});
