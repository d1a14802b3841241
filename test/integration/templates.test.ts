import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';

describe('templates', () => {
  let h: Harness;
  let t: { id: string; key: string };

  beforeAll(async () => {
    h = await startHarness();
    t = await h.createTenant();
  });
  afterAll(() => h?.close());

  const create = (body: Record<string, unknown>) => h.request('POST', '/templates', { key: t.key, body });

  it('creates version 1, adds immutable versions, and serves any version', async () => {
    const c = await create({
      name: 'receipt',
      subject_template: 'Receipt {{ n }}',
      html_template: '<p>v1 {{ n }}</p>',
    });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ name: 'receipt', version: 1, is_active: true });
    const id = c.body.id;
    const v2 = await h.request('PUT', `/templates/${id}`, {
      key: t.key,
      body: {
        subject_template: 'Receipt #{{ n }}',
        html_template: '<p>v2 {{ n }}</p>',
        text_template: 'v2 {{ n }}',
      },
    });
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ id, version: 2, latest_version: 2, name: 'receipt' });

    expect((await h.request('GET', `/templates/${id}`, { key: t.key })).body).toMatchObject({
      version: 2,
      html_template: '<p>v2 {{ n }}</p>',
    });
    expect((await h.request('GET', `/templates/${id}?version=1`, { key: t.key })).body).toMatchObject({
      version: 1,
      html_template: '<p>v1 {{ n }}</p>',
      text_template: null,
    });
    expect((await h.request('GET', `/templates/${id}?version=3`, { key: t.key })).status).toBe(404);
    const versions = await h.request('GET', `/templates/${id}/versions`, { key: t.key });
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([1, 2]);
  });

  it('records on each email the version it was rendered from', async () => {
    const id = (await create({ name: 'v', subject_template: 'S1', html_template: '<p>one</p>' })).body.id;
    const first = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'v1@example.com' }, template_id: id },
    });
    await h.request('PUT', `/templates/${id}`, {
      key: t.key,
      body: { subject_template: 'S2', html_template: '<p>two</p>' },
    });
    const second = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'v2@example.com' }, template_id: id },
    });
    const msgs = await h.sink.waitFor(2);
    expect(msgs.find((m) => m.envelope.to[0] === 'v1@example.com')?.subject).toBe('S1');
    expect(msgs.find((m) => m.envelope.to[0] === 'v2@example.com')?.subject).toBe('S2');
    expect(
      (await h.request('GET', `/emails/${first.body.email_id}`, { key: t.key })).body.template_version,
    ).toBe(1);
    expect(
      (await h.request('GET', `/emails/${second.body.email_id}`, { key: t.key })).body.template_version,
    ).toBe(2);
    h.sink.clear();
  });

  it('lists templates newest first with a cursor', async () => {
    const other = await h.createTenant();
    for (let i = 0; i < 5; i++) {
      await h.request('POST', '/templates', {
        key: other.key,
        body: { name: `t${i}`, subject_template: 's', html_template: 'h' },
      });
    }
    const p1 = await h.request('GET', '/templates?limit=2', { key: other.key });
    expect(p1.body.items.map((x: { name: string }) => x.name)).toEqual(['t4', 't3']);
    const p2 = await h.request('GET', `/templates?limit=2&cursor=${p1.body.next_cursor}`, { key: other.key });
    expect(p2.body.items.map((x: { name: string }) => x.name)).toEqual(['t2', 't1']);
    const p3 = await h.request('GET', `/templates?limit=2&cursor=${p2.body.next_cursor}`, { key: other.key });
    expect(p3.body.items.map((x: { name: string }) => x.name)).toEqual(['t0']);
    expect(p3.body.next_cursor).toBeNull();
    const bad = await h.request('GET', '/templates?cursor=garbage', { key: other.key });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_cursor');
  });

  it('deactivates: sends are refused with 422, the template stays readable', async () => {
    const id = (await create({ name: 'old', subject_template: 's', html_template: 'h' })).body.id;
    expect((await h.request('DELETE', `/templates/${id}`, { key: t.key })).status).toBe(204);
    expect((await h.request('GET', `/templates/${id}`, { key: t.key })).body.is_active).toBe(false);
    const send = await h.request('POST', '/send', {
      key: t.key,
      body: { recipient: { email: 'x@example.com' }, template_id: id },
    });
    expect(send.status).toBe(422);
    expect(send.body.error.code).toBe('template_inactive');
  });

  it('previews with variables, and names every missing variable in a 422', async () => {
    const id = (
      await create({
        name: 'p',
        subject_template: 'Hi {{ name }}',
        html_template: '<p>{{ name }} on {{ plan }} ({{ user.email }})</p>',
      })
    ).body.id;
    const ok = await h.request('POST', `/templates/${id}/preview`, {
      key: t.key,
      body: { variables: { name: 'Ann', plan: 'pro', user: { email: 'ann@example.com' } } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      subject: 'Hi Ann',
      html: '<p>Ann on pro (ann@example.com)</p>',
      text: 'Ann on pro (ann@example.com)',
    });
    const missing = await h.request('POST', `/templates/${id}/preview`, {
      key: t.key,
      body: { variables: {} },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.error.code).toBe('missing_variables');
    expect(missing.body.error.details.missing).toEqual(['name', 'plan', 'user']);
  });

  it('lists the variables a version needs', async () => {
    const c = await create({
      name: 'vars',
      subject_template: 'Hi {{ name }}',
      html_template:
        '{% assign x = 1 %}{% for item in items %}{{ item.title }}{% endfor %}{{ user.email }}{{ x }}',
    });
    expect(c.body.variables).toEqual(['items', 'name', 'user']);
    expect((await h.request('GET', `/templates/${c.body.id}`, { key: t.key })).body.variables).toEqual([
      'items',
      'name',
      'user',
    ]);
  });

  it('previews unsaved template text without storing it', async () => {
    const before = (await h.sql('SELECT count(*)::int AS n FROM templates'))[0].n;
    const r = await h.request('POST', '/templates/preview', {
      key: t.key,
      body: { subject_template: 'Draft {{ n }}', html_template: '<b>{{ n }}</b>', variables: { n: '<1>' } },
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ subject: 'Draft <1>', html: '<b>&lt;1&gt;</b>', text: '<1>', variables: ['n'] });
    const missing = await h.request('POST', '/templates/preview', {
      key: t.key,
      body: { subject_template: 'Draft {{ n }}', html_template: '{{ m }}' },
    });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details.missing).toEqual(['m', 'n']);
    const broken = await h.request('POST', '/templates/preview', {
      key: t.key,
      body: { subject_template: 'ok', html_template: "{% include '/etc/passwd' %}" },
    });
    expect(broken.status).toBe(400);
    expect(broken.raw).not.toContain('root:');
    expect((await h.sql('SELECT count(*)::int AS n FROM templates'))[0].n).toBe(before);
  });

  it('refuses a send with missing variables before anything is stored', async () => {
    const id = (
      await create({ name: 'm', subject_template: 'Hi {{ name }}', html_template: '<p>{{ code }}</p>' })
    ).body.id;
    const r = await h.request('POST', '/send', {
      key: t.key,
      body: {
        recipient: { email: 'miss@example.com' },
        template_id: id,
        variables: { name: 'x' },
        idempotency_key: 'miss-1',
      },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.details.missing).toEqual(['code']);
    expect(await h.sql(`SELECT id FROM emails WHERE recipient_email = 'miss@example.com'`)).toEqual([]);
  });

  it('refuses templates that do not parse, naming the field', async () => {
    const r = await create({ name: 'bad', subject_template: 'ok', html_template: '{% if %}' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('template_invalid');
    expect(r.body.error.details.field).toBe('html_template');
    const unknownFilter = await create({
      name: 'bad',
      subject_template: '{{ x | evil }}',
      html_template: 'h',
    });
    expect(unknownFilter.status).toBe(400);
    expect(unknownFilter.body.error.details.field).toBe('subject_template');
  });

  describe('the sandbox', () => {
    const attempt = async (
      html: string,
      variables: Record<string, unknown> = { range: [1, 2], name: 'x' },
    ) => {
      const c = await create({ name: 'evil', subject_template: 'S', html_template: html });
      if (c.status !== 201) return c;
      return h.request('POST', `/templates/${c.body.id}/preview`, { key: t.key, body: { variables } });
    };

    it.each([
      '{{ range.constructor }}',
      "{{ range.constructor('return process')() }}",
      '{{ name.constructor.constructor }}',
      '{{ range.__proto__ }}',
      '{{ range.constructor.prototype }}',
      '{% assign f = name.constructor %}{{ f }}',
      "{{ 'x'.constructor.name }}",
    ])('reaches no JavaScript object: %s', async (payload) => {
      const r = await attempt(payload);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.raw).not.toMatch(/function|native code|process|\[object|Object\]/i);
    });

    it('lets filters read no inherited property either', async () => {
      const r = await attempt(
        '[{{ range | map: "constructor" | first }}][{{ range | sort: "constructor" | size }}]',
      );
      expect(r.status).toBe(200);
      expect(r.body.html).toBe('[][2]');
    });

    it.each([
      "{% include '/etc/passwd' %}",
      "{% render '/etc/passwd' %}",
      "{% layout '/etc/passwd' %}{% block x %}{% endblock %}",
      "{% include '../../../../etc/passwd' %}",
      "{% liquid include '/etc/passwd' %}",
    ])('reads no file: %s', async (payload) => {
      const r = await attempt(payload);
      expect(r.status).toBe(400);
      expect(r.raw).not.toContain('root:');
    });

    it('stops a template that would run forever or print too much', async () => {
      const slow = await attempt(
        '{% for a in (1..100000) %}{% for b in (1..100000) %}x{% endfor %}{% endfor %}',
      );
      expect(slow.status).toBe(422);
      expect(slow.body.error.code).toBe('template_render_limit');
    });

    it('keeps the send path as safe as the preview', async () => {
      const c = await create({
        name: 'evil-send',
        subject_template: 'S',
        html_template: '{{ range.constructor }}',
      });
      const r = await h.request('POST', '/send', {
        key: t.key,
        body: { recipient: { email: 'evil@example.com' }, template_id: c.body.id, variables: { range: [1] } },
      });
      expect(r.status).toBe(422);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await h.sink.messages()).filter((m) => m.envelope.to[0] === 'evil@example.com')).toEqual([]);
    });
  });

  it('still delivers after the template is changed: an email renders with the version it recorded', async () => {
    const id = (await create({ name: 'sched', subject_template: 'Old {{ n }}', html_template: '<p>old</p>' }))
      .body.id;
    const r = await h.request('POST', '/send', {
      key: t.key,
      body: {
        recipient: { email: 'sched@example.com' },
        template_id: id,
        variables: { n: 1 },
        send_at: new Date(Date.now() + 800).toISOString(),
      },
    });
    expect(r.body.status).toBe('scheduled');
    await h.request('PUT', `/templates/${id}`, {
      key: t.key,
      body: { subject_template: 'New {{ other }}', html_template: '<p>new</p>' },
    });
    const msg = await eventually(async () =>
      (await h.sink.messages()).find((m) => m.envelope.to[0] === 'sched@example.com'),
    );
    expect(msg?.subject).toBe('Old 1');
  });
});
