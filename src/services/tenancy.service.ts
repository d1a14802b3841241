import { createHash, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ApiKeysRepository, KeyOwner } from '../db/api-keys.repository.js';
import type { TenantPatch, TenantRow, TenantsRepository } from '../db/tenants.repository.js';
import { AppError } from '../domain/errors.js';
import { newId, randomToken } from '../lib/ids.js';

const KEY_PREFIX = 'ms_';
/** Test-mode keys say so in their prefix, as Resend's and Postmark's do. */
const TEST_KEY_PREFIX = 'ms_test_';
/** 32 random bytes = 256 bits, base64url. */
const KEY_BYTES = 32;
/** What every key this service issues looks like: anything else is refused without a query. */
const KEY_FORMAT = /^ms_(test_)?[A-Za-z0-9_-]{43}$/;
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 8;
/** Suspensions and revocations must take effect within a second, caches included. */
const AUTH_CACHE_TTL_MS = 500;
const AUTH_CACHE_MAX = 10_000;

export interface AuthenticatedTenant {
  tenantId: string;
  keyId: string;
  rateLimitPerSecond: number | null;
  rateLimitBurst: number | null;
  /** A test-mode key: its mail is captured in the inbox only. */
  test: boolean;
  /** The tenant's provider; null: DEFAULT_PROVIDER. */
  provider: string | null;
}

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key).digest();

export function tenancyService(deps: {
  tenants: TenantsRepository;
  apiKeys: ApiKeysRepository;
  /** How long a lookup is trusted (tests lengthen it); suspensions take effect within it. */
  cacheTtlMs?: number;
}) {
  const ttl = deps.cacheTtlMs ?? AUTH_CACHE_TTL_MS;
  // Known keys and refused ones are cached apart: a flood of made-up keys fills only the second,
  // so it can never push a real key out and send every request to the database.
  const known = new LRUCache<string, KeyOwner>({ max: AUTH_CACHE_MAX, ttl });
  const refused = new LRUCache<string, true>({ max: AUTH_CACHE_MAX, ttl });
  // Keys seen valid in the last hour: while a client address is refused for failed attempts, only
  // these are still looked up (a real client behind the same address keeps working; junk costs no query).
  const recentlyValid = new LRUCache<string, true>({ max: AUTH_CACHE_MAX, ttl: 3600_000 });
  // Lookups on their way, by key: when a busy key's cache entry expires, the requests that arrive
  // meanwhile share one query (and one touch) instead of each sending its own. A change to keys or
  // tenants starts a new generation: lookups begun before it are neither joined nor cached.
  const inFlight = new Map<string, Promise<KeyOwner | null>>();
  let generation = 0;
  const clearCaches = () => {
    generation++;
    inFlight.clear();
    known.clear();
    refused.clear();
  };

  const lookup = async (hash: Buffer, queryUnknown: boolean): Promise<KeyOwner | null> => {
    const k = hash.toString('base64');
    const hit = known.get(k);
    if (hit) return hit;
    if ((!queryUnknown && !recentlyValid.has(k)) || refused.has(k)) return null;
    let pending = inFlight.get(k);
    if (!pending) {
      const started = generation;
      const query = (async () => {
        const owner = await deps.apiKeys.findOwner(hash);
        if (started !== generation) return owner;
        if (owner) {
          known.set(k, owner);
          recentlyValid.set(k, true);
          deps.apiKeys.touch(owner.key_id).catch(() => {});
        } else {
          refused.set(k, true);
        }
        return owner;
      })().finally(() => {
        if (inFlight.get(k) === query) inFlight.delete(k);
      });
      pending = query;
      inFlight.set(k, query);
    }
    return pending;
  };

  return {
    /**
     * The tenant a bearer key belongs to; 401 for a malformed (no query made), unknown or revoked
     * key, 403 when suspended. `queryUnknown: false` (a client refused for too many failures)
     * looks up only keys seen valid recently; any other is refused without a query.
     */
    async authenticate(
      key: string | undefined,
      opts: { queryUnknown?: boolean } = {},
    ): Promise<AuthenticatedTenant> {
      if (key === undefined || !KEY_FORMAT.test(key)) throw new AppError('unauthorized');
      const owner = await lookup(hashApiKey(key), opts.queryUnknown ?? true);
      if (!owner) throw new AppError('unauthorized');
      if (owner.tenant_status !== 'active') throw new AppError('tenant_suspended');
      return {
        tenantId: owner.tenant_id,
        keyId: owner.key_id,
        rateLimitPerSecond: owner.rate_limit_per_second,
        rateLimitBurst: owner.rate_limit_burst,
        test: owner.mode === 'test',
        provider: owner.provider,
      };
    },

    /** The tenant and key a request authenticated with (what a console shows after sign-in). */
    async whoAmI(auth: AuthenticatedTenant) {
      const [tenant, key] = await Promise.all([
        deps.tenants.get(auth.tenantId),
        deps.apiKeys.get(auth.tenantId, auth.keyId),
      ]);
      if (!tenant || !key) throw new AppError('unauthorized');
      return { tenant, key };
    },

    async createTenant(input: { id?: string | undefined; name: string }): Promise<TenantRow> {
      const id = input.id ?? `tenant_${randomToken(9)}`;
      const row = await deps.tenants.create(id, input.name);
      if (!row) throw new AppError('tenant_exists', undefined, { id });
      return row;
    },

    /** The tenant, or null when there is none with this id. */
    findTenant: (id: string): Promise<TenantRow | null> => deps.tenants.get(id),

    async getTenant(id: string): Promise<TenantRow> {
      const row = await deps.tenants.get(id);
      if (!row) throw new AppError('tenant_not_found');
      return row;
    },

    listTenants: (limit: number, after: string | null) => deps.tenants.list(limit, after),

    async updateTenant(id: string, patch: TenantPatch): Promise<TenantRow> {
      const row = await deps.tenants.update(id, patch);
      if (!row) throw new AppError('tenant_not_found');
      clearCaches();
      return row;
    },

    /** Creates a key and returns it in full — the only time it is ever shown. */
    async createApiKey(tenantId: string, name: string, mode: 'live' | 'test' = 'live') {
      if (!(await deps.tenants.get(tenantId))) throw new AppError('tenant_not_found');
      const key = `${mode === 'test' ? TEST_KEY_PREFIX : KEY_PREFIX}${randomToken(KEY_BYTES)}`;
      const row = await deps.apiKeys.create({
        id: newId(),
        tenantId,
        name,
        prefix: key.slice(
          0,
          (mode === 'test' ? TEST_KEY_PREFIX.length - KEY_PREFIX.length : 0) + SHOWN_PREFIX_LENGTH,
        ),
        hash: hashApiKey(key),
        mode,
      });
      return { ...row, key };
    },

    async listApiKeys(tenantId: string) {
      if (!(await deps.tenants.get(tenantId))) throw new AppError('tenant_not_found');
      return deps.apiKeys.listByTenant(tenantId);
    },

    async revokeApiKey(tenantId: string, keyId: string) {
      const row = await deps.apiKeys.revoke(tenantId, keyId);
      if (!row) throw new AppError('api_key_not_found');
      clearCaches();
      return row;
    },
  };
}
export type TenancyService = ReturnType<typeof tenancyService>;

/** Constant-time comparison of the admin token. */
export function adminTokenMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
