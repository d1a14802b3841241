import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../queue/redis-options.js';

/**
 * Rate limits shared by every process, kept in Redis as one GCRA cell per key (a token bucket
 * stored as its "theoretical arrival time": one number per key, updated by one Lua script, so a
 * decision is atomic however many API or worker processes ask at once).
 *
 * Contract:
 * - `take` answers at once: allowed (one token spent) or refused with how long until a token is
 *   free. Refusals spend nothing.
 * - `reserve` never refuses: it books the next free slot and says how long to wait for it, so a
 *   burst is spread out rather than turned away. A caller that gives up still used its slot.
 * - Limits are per call (`perSecond`, `burst`), so a changed limit applies to the next call.
 * - When Redis does not answer within a few hundred milliseconds, the same algorithm runs in this
 *   process's memory instead: limits then hold per process rather than across processes, and
 *   nothing stops working because Redis is away (PostgreSQL still guarantees correctness).
 * Not promised: fairness between waiters beyond first come, first served.
 */
export interface RateDecision {
  allowed: boolean;
  /** How long until the caller may go (refused: until a token is free; reserve: its slot). */
  waitMs: number;
  /** Tokens left after this call. */
  remaining: number;
}

export interface RateLimiter {
  take(key: string, perSecond: number, burst: number): Promise<RateDecision>;
  reserve(key: string, perSecond: number, burst: number): Promise<RateDecision>;
  /** Whether the last Redis call worked (false: limits are per process for now). */
  readonly shared: boolean;
  close(): Promise<void>;
}

// KEYS[1]: the cell. ARGV: interval ms, burst, mode ('take' | 'reserve'). Times are milliseconds
// from Redis's own clock, so processes with skewed clocks still agree.
const SCRIPT = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
-- Never more than an empty bucket behind, so a raised limit applies at once. Reservations may
-- book further ahead: those slots are promised to callers already waiting.
local clamped = false
if ARGV[3] == 'take' and tat > now + burst * interval then
  tat = now + burst * interval
  clamped = true
end
local next_tat = tat + interval
local wait = next_tat - burst * interval - now
if wait > 0 and ARGV[3] == 'take' then
  if clamped then redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000) end
  return {0, tostring(wait), '0'}
end
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil(next_tat - now) + 1000)
local remaining = 0
if wait < 0 then remaining = math.floor(-wait / interval) end
if wait < 0 then wait = 0 end
return {1, tostring(wait), tostring(remaining)}
`;

type Mode = 'take' | 'reserve';

/** The same cell arithmetic as the script, for one process while Redis is away. */
export function localCells(maxKeys = 10_000) {
  const cells = new Map<string, number>();
  return (key: string, intervalMs: number, burst: number, mode: Mode, now = Date.now()): RateDecision => {
    let tat = Math.max(cells.get(key) ?? 0, now);
    if (mode === 'take' && tat > now + burst * intervalMs) {
      tat = now + burst * intervalMs;
      cells.set(key, tat);
    }
    const nextTat = tat + intervalMs;
    const wait = nextTat - burst * intervalMs - now;
    if (wait > 0 && mode === 'take') return { allowed: false, waitMs: wait, remaining: 0 };
    if (cells.size >= maxKeys && !cells.has(key)) cells.clear();
    cells.set(key, nextTat);
    return {
      allowed: true,
      waitMs: Math.max(0, wait),
      remaining: wait < 0 ? Math.floor(-wait / intervalMs) : 0,
    };
  };
}

const UNLIMITED: RateDecision = { allowed: true, waitMs: 0, remaining: Number.POSITIVE_INFINITY };

export interface RedisRateLimiterOptions {
  redisUrl: string;
  /** Key prefix (the queue prefix), so deployments sharing a Redis do not share limits. */
  prefix: string;
  /** How long one decision may wait for Redis before the local fallback decides. */
  timeoutMs?: number;
  onError?: (err: Error) => void;
}

type CellRedis = Redis & {
  msRateCell(key: string, intervalMs: string, burst: string, mode: Mode): Promise<[number, string, string]>;
};

export function createRedisRateLimiter(opts: RedisRateLimiterOptions): RateLimiter {
  const redis = new Redis({
    ...redisOptionsFromUrl(opts.redisUrl),
    // Fail fast while Redis is away instead of queueing commands: the fallback decides meanwhile.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.timeoutMs ?? 250,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  }) as CellRedis;
  redis.defineCommand('msRateCell', { numberOfKeys: 1, lua: SCRIPT });
  redis.on('error', () => {
    // Reported once per outage by decide(); reconnection is automatic.
  });
  const local = localCells();
  let shared = true;
  let warned = false;

  const decide = async (key: string, perSecond: number, burst: number, mode: Mode): Promise<RateDecision> => {
    if (!(perSecond > 0)) return UNLIMITED;
    const intervalMs = 1000 / perSecond;
    const cells = Math.max(1, Math.floor(burst));
    try {
      const [allowed, waitMs, remaining] = await redis.msRateCell(
        `${opts.prefix}:rl:${key}`,
        String(intervalMs),
        String(cells),
        mode,
      );
      shared = true;
      warned = false;
      return { allowed: allowed === 1, waitMs: Number(waitMs), remaining: Number(remaining) };
    } catch (e) {
      // Still connecting at start-up is not an outage worth a warning.
      if (!warned && redis.status !== 'connecting') {
        warned = true;
        opts.onError?.(e instanceof Error ? e : new Error(String(e)));
      }
      shared = false;
      return local(key, intervalMs, cells, mode);
    }
  };

  return {
    take: (key, perSecond, burst) => decide(key, perSecond, burst, 'take'),
    reserve: (key, perSecond, burst) => decide(key, perSecond, burst, 'reserve'),
    get shared() {
      return shared;
    },
    async close() {
      redis.disconnect();
    },
  };
}

/** The same limits in this process's memory only: for the single-process embedded mode. */
export function createLocalRateLimiter(): RateLimiter {
  const local = localCells();
  const decide = (key: string, perSecond: number, burst: number, mode: Mode): RateDecision =>
    perSecond > 0 ? local(key, 1000 / perSecond, Math.max(1, Math.floor(burst)), mode) : UNLIMITED;
  return {
    take: async (key, perSecond, burst) => decide(key, perSecond, burst, 'take'),
    reserve: async (key, perSecond, burst) => decide(key, perSecond, burst, 'reserve'),
    shared: true,
    async close() {},
  };
}

/**
 * DeliveryHooks.beforeSend for per-provider send rates: books the provider's next slot and waits
 * for it, so a burst is spread out rather than refused by the provider. A slot is booked only by
 * a delivery that holds its claim, so the wait is bounded by the total worker concurrency divided
 * by the rate; keep that well below LEASE_SECONDS.
 */
export function providerPacer(
  limiter: RateLimiter,
  perSecond: (provider: string) => number,
  onWaited?: (provider: string, seconds: number) => void,
) {
  return async (provider: string): Promise<void> => {
    const rate = perSecond(provider);
    if (!(rate > 0)) return;
    // A bucket of one: sends are evenly spaced, so no one-second window ever sees more than the rate.
    const d = await limiter.reserve(`provider:${provider}`, rate, 1);
    if (d.waitMs > 0) await new Promise((r) => setTimeout(r, d.waitMs));
    onWaited?.(provider, d.waitMs / 1000);
  };
}
