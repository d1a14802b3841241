import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { templatesRepository } from '../../src/db/templates.repository.js';
import { tenantsRepository } from '../../src/db/tenants.repository.js';
import { newId } from '../../src/lib/ids.js';
import { templatesService } from '../../src/services/templates.service.js';
import { inlineEngine } from '../../src/templates/renderer.js';
import { codeOf, type ServiceDb, serviceDb } from '../support/services.js';

describe('templates service', () => {
  let s: ServiceDb;
  let templates: ReturnType<typeof templatesService>;
  const renderer = inlineEngine();
  const mine = `tpl_${newId().slice(0, 8)}`;
  const theirs = `tpl_${newId().slice(0, 8)}`;
  const welcome = { name: 'welcome', subject_template: 'Hi {{ name }}', html_template: '<p>{{ name }}</p>' };

  beforeAll(async () => {
    s = await serviceDb();
    await tenantsRepository(s.db).create(mine, 'Mine');
    await tenantsRepository(s.db).create(theirs, 'Theirs');
    templates = templatesService({ templates: templatesRepository(s.db), renderer });
  });
  afterAll(async () => {
    await renderer.close();
    await s?.close();
  });

  it('keeps every version: an update adds one and renders the new text, the old one stays readable', async () => {
    const v1 = await templates.create(mine, welcome);
    const v2 = await templates.update(mine, v1.id, { ...welcome, subject_template: 'Hello {{ name }}' });
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect((await templates.versions(mine, v1.id)).map((v) => v.version).sort()).toEqual([1, 2]);
    expect((await templates.preview(mine, v1.id, { name: 'Ann' })).subject).toBe('Hello Ann');
    expect((await templates.preview(mine, v1.id, { name: 'Ann' }, 1)).subject).toBe('Hi Ann');
  });

  it('refuses what cannot be stored, and stores nothing', async () => {
    const before = await s.sql('SELECT count(*)::int AS n FROM templates WHERE tenant_id = $1', [mine]);
    expect(await codeOf(templates.create(mine, { ...welcome, html_template: '{% if %}' }))).toBe(
      'template_invalid',
    );
    expect(await codeOf(templates.create(mine, { ...welcome, html_template: "{% include 'file' %}" }))).toBe(
      'template_invalid',
    );
    expect(await codeOf(templates.create(mine, { ...welcome, from: 'News <news@unverified.example>' }))).toBe(
      'sender_not_verified',
    );
    expect(await s.sql('SELECT count(*)::int AS n FROM templates WHERE tenant_id = $1', [mine])).toEqual(
      before,
    );
  });

  it("answers not found for another tenant's template, on every call", async () => {
    const t = await templates.create(theirs, welcome);
    expect(await codeOf(templates.get(mine, t.id))).toBe('template_not_found');
    expect(await codeOf(templates.versions(mine, t.id))).toBe('template_not_found');
    expect(await codeOf(templates.preview(mine, t.id, { name: 'Ann' }))).toBe('template_not_found');
    expect(await codeOf(templates.update(mine, t.id, welcome))).toBe('template_not_found');
    expect(await codeOf(templates.deactivate(mine, t.id))).toBe('template_not_found');
    expect(await codeOf(templates.get(mine, 'not-a-uuid'))).toBe('template_not_found');
    // Theirs is untouched.
    expect((await templates.get(theirs, t.id)).is_active).toBe(true);
  });

  it('names the variables a preview lacks, and renders a draft without storing it', async () => {
    const t = await templates.create(mine, { ...welcome, name: 'needs' });
    expect(await codeOf(templates.preview(mine, t.id, {}))).toBe('missing_variables');
    const before = await s.sql('SELECT count(*)::int AS n FROM template_versions');
    const draft = await templates.previewDraft(
      mine,
      { subject_template: '{{ a }} and {{ b.c }}', html_template: '<p>{{ a }}</p>' },
      { a: 'x', b: { c: 'y' } },
    );
    expect(draft).toMatchObject({ subject: 'x and y', variables: ['a', 'b'] });
    expect(await s.sql('SELECT count(*)::int AS n FROM template_versions')).toEqual(before);
  });
});
