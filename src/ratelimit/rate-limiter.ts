import { Redis } from 'ioredis';
import { microBatch } from '../lib/micro-batch.js';
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

// KEYS[1]: the cell. ARGV: interval ms, burst, mode ('take' | 'reserve'), count. Decides `count`
// calls in a row, exactly as that many calls of one would (concurrent callers of one cell share a
// script call). Times are milliseconds from Redis's own clock, so processes with skewed clocks
// still agree. Returns allowed, wait and remaining for each call, flattened.
const SCRIPT = `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local take = ARGV[3] == 'take'
local count = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local dirty = false
local out = {}
for i = 1, count do
  if tat < now then tat = now end
  -- Never more than an empty bucket behind, so a raised limit applies at once. Reservations may
  -- book further ahead: those slots are promised to callers already waiting.
  if take and tat > now + burst * interval then
    tat = now + burst * interval
    dirty = true
  end
  local next_tat = tat + interval
  local wait = next_tat - burst * interval - now
  if wait > 0 and take then
    out[#out + 1] = 0
    out[#out + 1] = tostring(wait)
    out[#out + 1] = '0'
  else
    tat = next_tat
    dirty = true
    local remaining = 0
    if wait < 0 then remaining = math.floor(-wait / interval) end
    if wait < 0 then wait = 0 end
    out[#out + 1] = 1
    out[#out + 1] = tostring(wait)
    out[#out + 1] = tostring(remaining)
  end
end
if dirty then redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 1000) end
return out
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
  msRateCell(
    key: string,
    intervalMs: string,
    burst: string,
    mode: Mode,
    count: string,
  ): Promise<(number | string)[]>;
};

interface CellCall {
  key: string;
  intervalMs: number;
  burst: number;
  mode: Mode;
}

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

  /** The calls of one cell (same key, rate and mode), in arrival order, decided by one script call. */
  const decideCell = async (calls: CellCall[]): Promise<RateDecision[]> => {
    const { key, intervalMs, burst, mode } = calls[0] as CellCall;
    try {
      const out = await redis.msRateCell(
        `${opts.prefix}:rl:${key}`,
        String(intervalMs),
        String(burst),
        mode,
        String(calls.length),
      );
      shared = true;
      warned = false;
      return calls.map((_, i) => ({
        allowed: out[3 * i] === 1,
        waitMs: Number(out[3 * i + 1]),
        remaining: Number(out[3 * i + 2]),
      }));
    } catch (e) {
      // Still connecting at start-up is not an outage worth a warning.
      if (!warned && redis.status !== 'connecting') {
        warned = true;
        opts.onError?.(e instanceof Error ? e : new Error(String(e)));
      }
      shared = false;
      return calls.map((c) => local(c.key, c.intervalMs, c.burst, c.mode));
    }
  };

  // Calls made while earlier ones wait for Redis go together: one script call per cell per batch.
  const decideBatch = microBatch<CellCall, RateDecision>({
    maxBatch: 500,
    maxInFlight: 1,
    run: async (calls) => {
      const cells = new Map<string, { calls: CellCall[]; at: number[] }>();
      for (const [i, c] of calls.entries()) {
        const id = `${c.mode}\u0000${c.intervalMs}\u0000${c.burst}\u0000${c.key}`;
        let cell = cells.get(id);
        if (!cell) {
          cell = { calls: [], at: [] };
          cells.set(id, cell);
        }
        cell.calls.push(c);
        cell.at.push(i);
      }
      const results: RateDecision[] = new Array(calls.length);
      await Promise.all(
        [...cells.values()].map(async (cell) => {
          const decided = await decideCell(cell.calls);
          for (const [j, d] of decided.entries()) results[cell.at[j] as number] = d;
        }),
      );
      return results;
    },
  });

  const decide = (key: string, perSecond: number, burst: number, mode: Mode): Promise<RateDecision> => {
    if (!(perSecond > 0)) return Promise.resolve(UNLIMITED);
    return decideBatch({ key, intervalMs: 1000 / perSecond, burst: Math.max(1, Math.floor(burst)), mode });
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
