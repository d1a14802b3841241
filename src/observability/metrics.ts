import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState } from '../breaker/provider-breaker.js';
import type { ClaimedEmail } from '../db/deliveries.repository.js';
import type { SendOutcome } from '../providers/email-provider.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import { QUEUE_NAMES } from '../queue/jobs.js';
import type { DeliveryHooks, DeliveryResult } from '../services/delivery.service.js';

/** What the gauges read when Prometheus scrapes; each is optional (a process may lack a role). */
export interface MetricsSources {
  dispatcher?: Dispatcher;
  /** Emails waiting or in flight, by status (queued, scheduled, processing). */
  waitingEmails?: () => Promise<Record<string, number>>;
  /** Counts not yet folded into the analytics rollups. */
  analyticsBacklog?: () => Promise<number>;
  /** The circuit breaker of every configured provider (shared state, read when scraped). */
  breakers?: () => Promise<BreakerState[]>;
  /** Outcomes waiting in this process's journal for PostgreSQL to come back. */
  journalSize?: () => number;
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Gauges backed by queries are cached this long, so many scrapers cost one query. */
const GAUGE_CACHE_MS = 5000;

/** A value computed at most once per `GAUGE_CACHE_MS`; a failure keeps the last good value. */
function cached<T>(load: () => Promise<T>) {
  let at = 0;
  let value: T | undefined;
  let inflight: Promise<T | undefined> | undefined;
  return async (): Promise<T | undefined> => {
    if (Date.now() - at < GAUGE_CACHE_MS) return value;
    inflight ??= load()
      .then((v) => {
        value = v;
        at = Date.now();
        return v;
      })
      .catch(() => value)
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

/**
 * Prometheus metrics of one process, on a registry of its own (several systems may share a
 * process in tests). Counters count what this process did; sum them across processes in PromQL.
 * Gauges that need PostgreSQL or Redis are read when scraped, cached for a few seconds.
 */
export function createMetrics(sources: MetricsSources = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mailsystem_process_' });

  const httpRequests = new Counter({
    name: 'mailsystem_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'mailsystem_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'mailsystem_rate_limited_total',
    help: 'Requests refused with 429, by limit (tenant or not_found)',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'mailsystem_delivery_outcomes_total',
    help: 'Delivery attempts by the status they left the email in (sent, deferred, failed, suppressed)',
    labelNames: ['provider', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'mailsystem_delivery_latency_seconds',
    help: 'From acceptance (or send_at, for scheduled mail) to the provider accepting the message',
    labelNames: ['provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'mailsystem_delivery_retries_total',
    help: 'Transient failures that were scheduled for another attempt',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: 'mailsystem_dead_letters_total',
    help: 'Emails that failed for good, by reason (permanent, retries_exhausted)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const providerWait = new Histogram({
    name: 'mailsystem_provider_rate_wait_seconds',
    help: 'Time a delivery waited for its provider send rate',
    labelNames: ['provider'] as const,
    buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const webhookEvents = new Counter({
    name: 'mailsystem_webhook_events_total',
    help: 'Provider webhook events received, by provider, type and whether they were replays',
    labelNames: ['provider', 'type', 'duplicate'] as const,
    registers: [registry],
  });

  const { dispatcher, waitingEmails, analyticsBacklog } = sources;
  if (dispatcher) {
    const stats = cached(async () =>
      Object.fromEntries(
        await Promise.all(
          Object.values(QUEUE_NAMES).map(async (q) => [q, await dispatcher.stats(q)] as const),
        ),
      ),
    );
    new Gauge({
      name: 'mailsystem_queue_jobs',
      help: 'Jobs in each queue, by state (waiting, delayed, active)',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect() {
        const all = await stats();
        this.reset();
        for (const [queue, s] of Object.entries(all ?? {})) {
          for (const state of ['waiting', 'delayed', 'active'] as const) this.set({ queue, state }, s[state]);
        }
      },
    });
    new Gauge({
      name: 'mailsystem_queue_oldest_waiting_seconds',
      help: 'Age of the oldest job waiting to run in each queue (0 when none waits)',
      labelNames: ['queue'] as const,
      registers: [registry],
      async collect() {
        const all = await stats();
        this.reset();
        for (const [queue, s] of Object.entries(all ?? {})) this.set({ queue }, s.oldestWaitingAgeMs / 1000);
      },
    });
  }
  if (waitingEmails) {
    const load = cached(waitingEmails);
    new Gauge({
      name: 'mailsystem_emails',
      help: 'Emails waiting or in flight, by status (queued, scheduled, processing)',
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        const counts = await load();
        this.reset();
        for (const [status, n] of Object.entries(counts ?? {})) this.set({ status }, n);
      },
    });
  }
  if (analyticsBacklog) {
    const load = cached(analyticsBacklog);
    new Gauge({
      name: 'mailsystem_analytics_pending_rows',
      help: 'Event counts waiting for the aggregator (stays near 0 while it keeps up)',
      registers: [registry],
      async collect() {
        const n = await load();
        if (n !== undefined) this.set(n);
      },
    });
  }

  if (sources.breakers) {
    const load = cached(sources.breakers);
    const STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;
    const gauge = (name: string, help: string, value: (s: BreakerState, now: number) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['provider'] as const,
        registers: [registry],
        async collect() {
          const now = Date.now();
          for (const s of (await load()) ?? []) this.set({ provider: s.provider }, value(s, now));
        },
      });
    gauge(
      'mailsystem_provider_breaker_state',
      'Circuit breaker per provider: 0 closed, 1 half-open (probing), 2 open',
      (s) => STATE_VALUE[s.state],
    );
    gauge(
      'mailsystem_provider_breaker_opens',
      'Times the provider breaker opened (shared across processes; resets if Redis loses it)',
      (s) => s.opens,
    );
    gauge(
      'mailsystem_provider_breaker_open_seconds',
      'Seconds the provider breaker has been open in the current outage (0 when closed)',
      (s, now) => (s.openedAt === null ? 0 : Math.max(0, now - s.openedAt) / 1000),
    );
    gauge(
      'mailsystem_provider_breaker_open_seconds_total',
      'Seconds the provider breaker spent open, over ended and current outages',
      (s, now) => (s.openMsTotal + (s.openedAt === null ? 0 : Math.max(0, now - s.openedAt))) / 1000,
    );
  }
  if (sources.journalSize) {
    const size = sources.journalSize;
    new Gauge({
      name: 'mailsystem_outcome_journal_entries',
      help: 'Delivery outcomes kept in this process until PostgreSQL takes them',
      registers: [registry],
      collect() {
        this.set(size());
      },
    });
  }

  const onOutcome = (email: ClaimedEmail, result: DeliveryResult, outcome?: SendOutcome) => {
    const provider = email.provider;
    switch (result.kind) {
      case 'sent': {
        outcomes.inc({ provider, status: 'sent' });
        const since = Math.max(email.created_at.getTime(), email.send_at?.getTime() ?? 0);
        latency.observe({ provider }, Math.max(0, Date.now() - since) / 1000);
        break;
      }
      case 'retry':
        outcomes.inc({ provider, status: 'deferred' });
        retries.inc({ provider });
        break;
      case 'held':
        outcomes.inc({ provider, status: 'held' });
        break;
      case 'failed':
        outcomes.inc({ provider, status: 'failed' });
        deadLetters.inc({
          reason:
            outcome?.kind === 'transient'
              ? 'retries_exhausted'
              : outcome?.kind === 'unavailable'
                ? 'provider_unavailable'
                : 'permanent',
        });
        break;
      case 'suppressed':
        outcomes.inc({ provider, status: 'suppressed' });
        break;
      default:
        break;
    }
  };

  return {
    registry,
    /** prom-client's text exposition of everything above. */
    render: () => registry.metrics(),
    contentType: registry.contentType,
    http(method: string, route: string, status: number, seconds: number) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    rateLimited(limit: 'tenant' | 'not_found' | 'auth') {
      rateLimited.inc({ limit });
    },
    providerWaited(provider: string, seconds: number) {
      providerWait.observe({ provider }, seconds);
    },
    /** For the webhooks service: one call per event received. */
    webhookEvent(provider: string, type: string, duplicate: boolean) {
      webhookEvents.inc({ provider, type, duplicate: String(duplicate) });
    },
    deliveryHooks: { onOutcome } satisfies DeliveryHooks,
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
