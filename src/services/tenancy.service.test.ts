import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ApiKeysRepository, KeyOwner } from '../db/api-keys.repository.js';
import type { TenantsRepository } from '../db/tenants.repository.js';
import { hashApiKey, tenancyService } from './tenancy.service.js';

const key = () => `ms_${randomBytes(32).toString('base64url')}`;

/** The key store as the service sees it, counting lookups (the query a junk key must not cost). */
function keyStore(real: string) {
  const owner: KeyOwner = {
    key_id: 'k1',
    tenant_id: 't1',
    tenant_status: 'active',
    rate_limit_per_second: null,
    rate_limit_burst: null,
    mode: 'live',
    provider: null,
  };
  const lookups: string[] = [];
  const apiKeys = {
    findOwner: async (hash: Buffer) => {
      lookups.push(hash.toString('hex'));
      return hash.equals(hashApiKey(real)) ? owner : null;
    },
    touch: async () => {},
  } as unknown as ApiKeysRepository;
  return { apiKeys, lookups };
}

describe('tenancyService.authenticate', () => {
  it('refuses a key that cannot be well formed without a lookup', async () => {
    const real = key();
    const { apiKeys, lookups } = keyStore(real);
    const svc = tenancyService({ tenants: {} as TenantsRepository, apiKeys });
    for (const bad of [
      undefined,
      '',
      'ms_',
      'ms_short',
      `${real}x`,
      real.replace('ms_', 'mk_'),
      `ms_${'%'.repeat(43)}`,
    ]) {
      await expect(svc.authenticate(bad)).rejects.toMatchObject({ code: 'unauthorized' });
    }
    expect(lookups).toEqual([]);
    await expect(svc.authenticate(real)).resolves.toMatchObject({ tenantId: 't1' });
    expect(lookups).toHaveLength(1);
  });

  it('sends one lookup for concurrent requests with a key that is not cached', async () => {
    const real = key();
    const { apiKeys, lookups } = keyStore(real);
    const svc = tenancyService({ tenants: {} as TenantsRepository, apiKeys });
    const answers = await Promise.all(Array.from({ length: 64 }, () => svc.authenticate(real)));
    expect(answers.map((a) => a.tenantId)).toEqual(Array(64).fill('t1'));
    expect(lookups).toHaveLength(1);
    const junk = key();
    const refusals = await Promise.allSettled(Array.from({ length: 10 }, () => svc.authenticate(junk)));
    expect(refusals.map((r) => r.status)).toEqual(Array(10).fill('rejected'));
    expect(lookups).toHaveLength(2);
  });

  it('keeps a real key cached while 20,000 made-up keys go by', async () => {
    const real = key();
    const { apiKeys, lookups } = keyStore(real);
    // A long lifetime, so that only eviction (not expiry on a slow machine) could lose the entry.
    const svc = tenancyService({ tenants: {} as TenantsRepository, apiKeys, cacheTtlMs: 600_000 });
    await svc.authenticate(real);
    for (let i = 0; i < 20_000; i++) {
      await expect(svc.authenticate(key())).rejects.toMatchObject({ code: 'unauthorized' });
    }
    const before = lookups.length;
    await svc.authenticate(real);
    expect(lookups.length).toBe(before); // a cache hit: the flood did not push it out
  });

  it('looks up only recently valid keys, for a client refused for failures', async () => {
    const real = key();
    const { apiKeys, lookups } = keyStore(real);
    const svc = tenancyService({ tenants: {} as TenantsRepository, apiKeys });
    await expect(svc.authenticate(key(), { queryUnknown: false })).rejects.toMatchObject({
      code: 'unauthorized',
    });
    await expect(svc.authenticate(real, { queryUnknown: false })).rejects.toMatchObject({
      code: 'unauthorized',
    });
    expect(lookups).toEqual([]);
    await svc.authenticate(real);
    await expect(svc.authenticate(real, { queryUnknown: false })).resolves.toMatchObject({ tenantId: 't1' });
    expect(lookups).toHaveLength(1);
    // Past the short cache, a key seen valid is looked up again (a revocation still applies).
    await new Promise((resolve) => setTimeout(resolve, 600));
    await expect(svc.authenticate(real, { queryUnknown: false })).resolves.toMatchObject({ tenantId: 't1' });
    expect(lookups).toHaveLength(2);
    await expect(svc.authenticate(key(), { queryUnknown: false })).rejects.toMatchObject({
      code: 'unauthorized',
    });
    expect(lookups).toHaveLength(2);
  });
});
