/**
 * ProviderBreaker — a circuit breaker per email provider, shared by every worker that sends
 * through it. Delivery asks it before a send and tells it how the send went; failover between
 * providers can ask it which provider is healthy.
 *
 * Contract:
 * - `allows(provider)` answers whether a delivery to the provider may start now. Closed: always.
 *   Open: never until the pause is over; then exactly one caller gets `true` (the half-open
 *   probe) until that probe is recorded or `probeMs` passes without a record (its worker died).
 * - `record(provider, 'failure')` is for trouble with the provider itself (an `unavailable`
 *   outcome); `'success'` for any answer from it, even a refusal of the message. `threshold`
 *   consecutive failures open the breaker; a failed probe opens it again with the pause doubled
 *   (capped at `maxPauseMs`); any success closes it.
 * - `state(provider)` describes it for metrics, health and the console; `retryAt` says when the
 *   next probe may go (the time to hold mail until).
 * - Shared state may be lost (Redis flushed or restarted): the breaker then starts closed and
 *   re-learns from the next failures; nothing is lost with it, since mail waits in PostgreSQL.
 * Not promised: exact counts across processes racing on the same transition (one probe is).
 */
export type BreakerStatus = 'closed' | 'open' | 'half_open';

export interface BreakerState {
  provider: string;
  state: BreakerStatus;
  /** Consecutive provider-level failures. */
  failures: number;
  /** When the current outage began (first opening), null when closed. */
  openedAt: number | null;
  /** Earliest time of the next probe while open, null when closed. */
  retryAt: number | null;
  /** The current pause between probes. */
  pauseMs: number;
  /** Times the breaker opened (closed → open), since the state was created. */
  opens: number;
  /** Milliseconds spent open in outages that have ended. */
  openMsTotal: number;
  /** While half-open: when the running probe is given up. */
  probeUntil: number | null;
}

export interface ProviderBreaker {
  allows(provider: string): Promise<boolean>;
  record(provider: string, outcome: 'success' | 'failure'): Promise<void>;
  state(provider: string): Promise<BreakerState>;
  /** Whether the state is shared across processes right now (false: this process's memory). */
  readonly shared: boolean;
  close(): Promise<void>;
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  threshold: number;
  /** First pause before a probe. */
  pauseMs: number;
  /** The pause doubles per failed probe up to this. */
  maxPauseMs: number;
  /** How long a probe may run before another may go. */
  probeMs: number;
}

export const closedState = (provider: string): BreakerState => ({
  provider,
  state: 'closed',
  failures: 0,
  openedAt: null,
  retryAt: null,
  pauseMs: 0,
  opens: 0,
  openMsTotal: 0,
  probeUntil: null,
});

/**
 * The transitions, pure: `allows` or `record` applied to a state at `now`. The Redis adapter runs
 * the same rules in a Lua script (src/breaker/redis.breaker.ts); keep the two in step.
 */
export function stepAllows(s: BreakerState, now: number, o: BreakerOptions): [boolean, BreakerState] {
  if (s.state === 'closed') return [true, s];
  if (s.state === 'open' && now < (s.retryAt ?? 0)) return [false, s];
  if (s.state === 'half_open' && now < (s.probeUntil ?? 0)) return [false, s];
  return [true, { ...s, state: 'half_open', probeUntil: now + o.probeMs }];
}

export function stepRecord(
  s: BreakerState,
  outcome: 'success' | 'failure',
  now: number,
  o: BreakerOptions,
): BreakerState {
  if (outcome === 'success') {
    if (s.state === 'closed') return s.failures === 0 ? s : { ...s, failures: 0 };
    return {
      ...s,
      state: 'closed',
      failures: 0,
      openMsTotal: s.openMsTotal + Math.max(0, now - (s.openedAt ?? now)),
      openedAt: null,
      retryAt: null,
      pauseMs: 0,
      probeUntil: null,
    };
  }
  const failures = s.failures + 1;
  if (s.state === 'closed') {
    if (failures < o.threshold) return { ...s, failures };
    return {
      ...s,
      state: 'open',
      failures,
      openedAt: now,
      pauseMs: o.pauseMs,
      retryAt: now + o.pauseMs,
      opens: s.opens + 1,
      probeUntil: null,
    };
  }
  if (s.state === 'half_open') {
    const pauseMs = Math.min(o.maxPauseMs, Math.max(o.pauseMs, s.pauseMs * 2));
    return { ...s, state: 'open', failures, pauseMs, retryAt: now + pauseMs, probeUntil: null };
  }
  // Open already: sends that started before it opened are still failing; the pause stands.
  return { ...s, failures };
}

/** The breaker in this process's memory: the embedded mode, and the fallback while Redis is away. */
export function createMemoryBreaker(o: BreakerOptions, now: () => number = Date.now): ProviderBreaker {
  const states = new Map<string, BreakerState>();
  const get = (p: string) => states.get(p) ?? closedState(p);
  return {
    async allows(provider) {
      const [ok, next] = stepAllows(get(provider), now(), o);
      states.set(provider, next);
      return ok;
    },
    async record(provider, outcome) {
      states.set(provider, stepRecord(get(provider), outcome, now(), o));
    },
    async state(provider) {
      return get(provider);
    },
    shared: true,
    async close() {},
  };
}
