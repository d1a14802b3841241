import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suppressionsRepository } from '../../src/db/suppressions.repository.js';
import { newId } from '../../src/lib/ids.js';
import { suppressionsService } from '../../src/services/suppressions.service.js';
import { codeOf, type ServiceDb, seedTenant, serviceDb } from '../support/services.js';

/** The per-tenant suppression list as /suppressions uses it: add, look up, list, remove (recorded). */
describe('suppressions service', () => {
  let s: ServiceDb;
  let mine: string;
  let theirs: string;
  let suppressions: ReturnType<typeof suppressionsService>;

  beforeAll(async () => {
    s = await serviceDb();
    mine = (await seedTenant(s.db)).tenantId;
    theirs = (await seedTenant(s.db)).tenantId;
    suppressions = suppressionsService({ suppressions: suppressionsRepository(s.db) });
  });
  afterAll(async () => {
    await s?.close();
  });

  const rows = (tenantId: string, email: string) =>
    s.sql<{ reason: string; source: Record<string, unknown> }>(
      'SELECT reason, source FROM suppressions WHERE tenant_id = $1 AND email = $2',
      [tenantId, email],
    );
  const removals = (tenantId: string, email: string) =>
    s.sql<{ reason: string; overridden: boolean; removed_by_key: string | null; note: string | null }>(
      'SELECT reason, overridden, removed_by_key, note FROM suppression_removals WHERE tenant_id = $1 AND email = $2 ORDER BY id',
      [tenantId, email],
    );
  const unique = (label: string) => `${label}.${newId().slice(0, 8)}@example.com`;

  it('adds an address once, lower-cased; adding it again keeps its first reason and time', async () => {
    const email = unique('ann');
    const first = await suppressions.add(mine, `  ${email.toUpperCase()} `);
    expect(first).toMatchObject({ created: true, suppression: { email, reason: 'manual' } });
    const again = await suppressions.add(mine, email, 'hard_bounce');
    expect(again).toEqual({ created: false, suppression: first.suppression });
    expect(await suppressions.get(mine, email.toUpperCase())).toEqual(first.suppression);
    expect(await rows(mine, email)).toEqual([{ reason: 'manual', source: { via: 'api' } }]);
  });

  it('refuses what is not an email address, and stores nothing', async () => {
    const count = () => s.sql('SELECT count(*)::int AS n FROM suppressions WHERE tenant_id = $1', [mine]);
    const before = await count();
    for (const bad of [
      'not-an-address',
      'two@@example.com',
      '@example.com',
      'ann@',
      `${'a'.repeat(65)}@x.com`,
    ]) {
      expect(await codeOf(suppressions.add(mine, bad)), bad).toBe('validation_failed');
    }
    expect(await count()).toEqual(before);
  });

  it('removes an entry the tenant made and records the removal; a second removal is not found', async () => {
    const email = unique('bob');
    await suppressions.add(mine, email, 'hard_bounce');
    const keyId = newId();
    await suppressions.remove(mine, email.toUpperCase(), { keyId, note: 'fixed their mailbox' });
    expect(await rows(mine, email)).toEqual([]);
    expect(await removals(mine, email)).toEqual([
      { reason: 'hard_bounce', overridden: false, removed_by_key: keyId, note: 'fixed their mailbox' },
    ]);
    expect(await codeOf(suppressions.get(mine, email))).toBe('suppression_not_found');
    expect(await codeOf(suppressions.remove(mine, email))).toBe('suppression_not_found');
    expect(await removals(mine, email)).toHaveLength(1);
  });

  it("keeps a recipient's own unsubscribe or complaint unless overridden, and records the override", async () => {
    for (const reason of ['unsubscribe', 'complaint'] as const) {
      const email = unique(reason);
      await suppressions.add(mine, email, reason);
      expect(await codeOf(suppressions.remove(mine, email))).toBe('suppression_recipient_choice');
      expect(await rows(mine, email)).toEqual([{ reason, source: { via: 'api' } }]);
      expect(await removals(mine, email)).toEqual([]);

      await suppressions.remove(mine, email, { override: true });
      expect(await rows(mine, email)).toEqual([]);
      expect(await removals(mine, email)).toEqual([
        { reason, overridden: true, removed_by_key: null, note: null },
      ]);
    }
  });

  it("does not see or change another tenant's entry, and keeps the two tenants' entries apart", async () => {
    const email = unique('cat');
    await suppressions.add(theirs, email, 'complaint');
    expect(await codeOf(suppressions.get(mine, email))).toBe('suppression_not_found');
    expect(await codeOf(suppressions.remove(mine, email, { override: true }))).toBe('suppression_not_found');
    expect((await suppressions.list(mine, 100, undefined)).items.map((i) => i.email)).not.toContain(email);
    expect(await rows(theirs, email)).toEqual([{ reason: 'complaint', source: { via: 'api' } }]);
    expect(await removals(theirs, email)).toEqual([]);

    // The same address on my list is an entry of my own; theirs keeps its reason.
    expect((await suppressions.add(mine, email)).created).toBe(true);
    await suppressions.remove(mine, email);
    expect(await rows(theirs, email)).toEqual([{ reason: 'complaint', source: { via: 'api' } }]);
  });

  it('lists newest first, page by page, and refuses a cursor it did not issue', async () => {
    const tenant = (await seedTenant(s.db)).tenantId;
    const added: string[] = [];
    for (const label of ['one', 'two', 'three']) {
      added.push((await suppressions.add(tenant, unique(label))).suppression.email);
    }
    const first = await suppressions.list(tenant, 2, undefined);
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).not.toBeNull();
    const second = await suppressions.list(tenant, 2, first.next_cursor ?? undefined);
    expect(second.next_cursor).toBeNull();
    const listed = [...first.items, ...second.items];
    expect(listed.map((i) => i.email).sort()).toEqual([...added].sort());
    const times = listed.map((i) => i.created_at);
    expect(times).toEqual([...times].sort().reverse());
    expect(await codeOf(suppressions.list(tenant, 2, 'not-a-cursor'))).toBe('invalid_cursor');
  });
});
