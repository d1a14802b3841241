import type { ProviderBreaker } from '../breaker/provider-breaker.js';
import type { EmailProvider, SendOutcome } from '../providers/email-provider.js';
import type { ProviderRegistry } from '../providers/registry.js';

/** Whether a provider may take mail now (breakerHealth: the shared circuit breaker). */
export interface ProviderHealth {
  isAvailable(name: string): boolean | Promise<boolean>;
  /** Told every outcome of a send through the provider. */
  record?(name: string, outcome: SendOutcome): void;
}

/**
 * The shared circuit breaker as failover sees it: a provider may take mail when its breaker is
 * closed, or when its pause is over and a probe may go. Asking has no effect on the breaker (the
 * probe itself is taken, and outcomes recorded, by delivery), and a breaker that cannot be read
 * (Redis away and no fallback) counts as closed: the send then finds out.
 */
export function breakerHealth(breaker: ProviderBreaker, now: () => number = Date.now): ProviderHealth {
  return {
    async isAvailable(name) {
      const s = await breaker.state(name).catch(() => null);
      if (!s || s.state === 'closed') return true;
      if (s.state === 'open') return now() >= (s.retryAt ?? 0);
      return now() >= (s.probeUntil ?? 0);
    },
  };
}

export interface TenantRoute {
  provider: string | null;
  fallbacks: string[];
}

/**
 * Chooses the provider for one delivery attempt — the one place failover is decided. Without
 * fallbacks (or for test-mode mail, which only ever goes to the inbox) it is the email's own
 * provider, as before. With fallbacks, it is the first of [tenant's provider, ...fallbacks] that
 * the health says is available (the primary when none is). When the choice differs from the
 * provider that carried the email last, `onReroute` records it (the email's provider column and an
 * event), so the sent event and the provider's webhooks name the provider that carried it. A
 * permanent error never reaches this: it fails the email where it happened.
 */
export function providerRouter(deps: {
  providers: ProviderRegistry;
  health: ProviderHealth;
  defaultProvider: string;
  tenantRoute: (tenantId: string) => Promise<TenantRoute | null>;
  onReroute: (email: { id: string; attempts: number }, from: string, to: string) => Promise<void>;
  /** How long a tenant's route is cached; PATCHes take effect after it. */
  cacheMs?: number;
}) {
  const cache = new Map<string, { route: TenantRoute | null; until: number }>();
  const routeOf = async (tenantId: string) => {
    const hit = cache.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.route;
    const route = await deps.tenantRoute(tenantId);
    if (cache.size > 10_000) cache.clear();
    cache.set(tenantId, { route, until: Date.now() + (deps.cacheMs ?? 1000) });
    return route;
  };
  const observed = (p: EmailProvider): EmailProvider => ({
    name: p.name,
    ...(p.takesMime ? { takesMime: true } : {}),
    send: async (m) => {
      const outcome = await p.send(m);
      deps.health.record?.(p.name, outcome);
      return outcome;
    },
    close: () => p.close(),
  });

  const route = async (email: {
    id: string;
    tenant_id: string;
    provider: string;
    attempts: number;
    test?: boolean;
  }): Promise<EmailProvider | undefined> => {
    const own = deps.providers.get(email.provider);
    if (email.test || email.provider === 'inbox') return own;
    const route = await routeOf(email.tenant_id);
    if (!route || route.fallbacks.length === 0) return own ? observed(own) : undefined;
    const chain = [...new Set([route.provider ?? deps.defaultProvider, ...route.fallbacks])].filter(
      (name) => deps.providers.get(name) !== undefined,
    );
    let chosen = chain[0];
    for (const name of chain) {
      if (await deps.health.isAvailable(name)) {
        chosen = name;
        break;
      }
    }
    const provider = chosen ? deps.providers.get(chosen) : own;
    if (!provider) return undefined;
    if (provider.name !== email.provider) await deps.onReroute(email, email.provider, provider.name);
    return observed(provider);
  };
  /** Whether a tenant's mail has somewhere else to go while its provider is down. */
  const hasFallbacks = async (tenantId: string) => ((await routeOf(tenantId))?.fallbacks.length ?? 0) > 0;
  return Object.assign(route, { hasFallbacks });
}
export type ProviderRouter = ReturnType<typeof providerRouter>;
