import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../queue/redis-options.js';
import {
  type BreakerOptions,
  type BreakerState,
  closedState,
  createMemoryBreaker,
  type ProviderBreaker,
} from './provider-breaker.js';

// The transitions of stepAllows/stepRecord (provider-breaker.ts), run atomically in Redis so every
// worker process sees one breaker per provider. Times come from Redis's clock, so processes with
// skewed clocks agree. KEYS[1]: the state (JSON). ARGV: op, provider, threshold, pauseMs,
// maxPauseMs, probeMs. Returns {allowed (0/1), state JSON}.
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]
local threshold = tonumber(ARGV[3])
local pause0 = tonumber(ARGV[4])
local maxPause = tonumber(ARGV[5])
local probeMs = tonumber(ARGV[6])
local raw = redis.call('GET', KEYS[1])
local s
if raw then s = cjson.decode(raw) else
  s = {provider = ARGV[2], state = 'closed', failures = 0, openedAt = false, retryAt = false,
       pauseMs = 0, opens = 0, openMsTotal = 0, probeUntil = false}
end
local allowed = 1
local changed = false
if op == 'allows' then
  if s.state == 'open' and now < (s.retryAt or 0) then allowed = 0
  elseif s.state == 'half_open' and now < (s.probeUntil or 0) then allowed = 0
  elseif s.state ~= 'closed' then
    s.state = 'half_open'; s.probeUntil = now + probeMs; changed = true
  end
elseif op == 'success' then
  if s.state == 'closed' then
    if s.failures ~= 0 then s.failures = 0; changed = true end
  else
    s.openMsTotal = s.openMsTotal + math.max(0, now - (s.openedAt or now))
    s.state = 'closed'; s.failures = 0; s.openedAt = false; s.retryAt = false; s.pauseMs = 0
    s.probeUntil = false; changed = true
  end
elseif op == 'failure' then
  s.failures = s.failures + 1; changed = true
  if s.state == 'closed' then
    if s.failures >= threshold then
      s.state = 'open'; s.openedAt = now; s.pauseMs = pause0; s.retryAt = now + pause0
      s.opens = s.opens + 1; s.probeUntil = false
    end
  elseif s.state == 'half_open' then
    local p = math.min(maxPause, math.max(pause0, s.pauseMs * 2))
    s.state = 'open'; s.pauseMs = p; s.retryAt = now + p; s.probeUntil = false
  end
end
local out = cjson.encode(s)
if changed then redis.call('SET', KEYS[1], out) end
return {allowed, out}
`;

type Op = 'allows' | 'success' | 'failure' | 'get';
type BreakerRedis = Redis & {
  msBreaker(key: string, ...args: string[]): Promise<[number, string]>;
};

/** cjson writes a missing value as false; the port speaks null. */
function parseState(json: string): BreakerState {
  const s = JSON.parse(json) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    provider: String(s.provider),
    state: s.state as BreakerState['state'],
    failures: num(s.failures) ?? 0,
    openedAt: num(s.openedAt),
    retryAt: num(s.retryAt),
    pauseMs: num(s.pauseMs) ?? 0,
    opens: num(s.opens) ?? 0,
    openMsTotal: num(s.openMsTotal) ?? 0,
    probeUntil: num(s.probeUntil),
  };
}

export interface RedisBreakerOptions extends BreakerOptions {
  redisUrl: string;
  /** Key prefix (the queue prefix), so deployments sharing a Redis do not share breakers. */
  prefix: string;
  /** A closed state read from Redis is trusted this long without asking again (the hot path). */
  cacheMs?: number;
  timeoutMs?: number;
  onError?: (err: Error) => void;
}

/**
 * The breaker shared through Redis. While the breaker is closed, a delivery costs at most one
 * Redis round trip per `cacheMs` per provider and process; every transition is one Lua call.
 * When Redis does not answer, this process's memory decides (a breaker per process) until it does.
 */
export function createRedisBreaker(opts: RedisBreakerOptions): ProviderBreaker {
  const redis = new Redis({
    ...redisOptionsFromUrl(opts.redisUrl),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.timeoutMs ?? 500,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  }) as BreakerRedis;
  redis.defineCommand('msBreaker', { numberOfKeys: 1, lua: SCRIPT });
  redis.on('error', () => {
    // Reported once per outage by call(); reconnection is automatic.
  });
  // Commands fail at once while disconnected (no offline queue), so the first calls of a new
  // process wait for the first connection a little instead of deciding alone.
  let connected = false;
  const firstConnection = new Promise<void>((resolve) =>
    redis.once('ready', () => {
      connected = true;
      resolve();
    }),
  );
  const local = createMemoryBreaker(opts);
  const cacheMs = opts.cacheMs ?? 250;
  const cache = new Map<string, { at: number; state: BreakerState }>();
  let shared = true;
  let warned = false;

  const call = async (provider: string, op: Op): Promise<[boolean, BreakerState] | null> => {
    if (!connected) {
      await Promise.race([firstConnection, new Promise((r) => setTimeout(r, opts.timeoutMs ?? 500))]);
    }
    try {
      const [allowed, json] = await redis.msBreaker(
        `${opts.prefix}:breaker:${provider}`,
        op,
        provider,
        String(opts.threshold),
        String(opts.pauseMs),
        String(opts.maxPauseMs),
        String(opts.probeMs),
      );
      const state = parseState(json);
      cache.set(provider, { at: Date.now(), state });
      shared = true;
      warned = false;
      return [allowed === 1, state];
    } catch (e) {
      if (!warned && redis.status !== 'connecting') {
        warned = true;
        opts.onError?.(e instanceof Error ? e : new Error(String(e)));
      }
      shared = false;
      return null;
    }
  };
  const freshClosed = (provider: string) => {
    const c = cache.get(provider);
    return c !== undefined && Date.now() - c.at < cacheMs && c.state.state === 'closed' ? c.state : null;
  };

  return {
    async allows(provider) {
      if (freshClosed(provider)) return true;
      const r = await call(provider, 'allows');
      return r ? r[0] : local.allows(provider);
    },
    async record(provider, outcome) {
      if (outcome === 'success' && freshClosed(provider)?.failures === 0) return;
      const r = await call(provider, outcome);
      if (!r) await local.record(provider, outcome);
    },
    async state(provider) {
      const r = await call(provider, 'get');
      return r ? r[1] : ((await local.state(provider)) ?? closedState(provider));
    },
    get shared() {
      return shared;
    },
    async close() {
      redis.disconnect();
    },
  };
}
