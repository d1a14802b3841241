import { createServer, type Server } from 'node:http';
import type { ApiOperations } from '../api/app.js';
import type { BreakerState } from '../breaker/provider-breaker.js';
import type { Config } from '../config/config.js';
import { analyticsRepository } from '../db/analytics.repository.js';
import type { Database } from '../db/database.js';
import { operationsRepository } from '../db/operations.repository.js';
import { bearerToken } from '../lib/bearer.js';
import type { Logger } from '../lib/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import { createRedisRateLimiter, providerPacer, type RateLimiter } from '../ratelimit/rate-limiter.js';
import { analyticsService } from '../services/analytics.service.js';
import type { DeliveryHooks } from '../services/delivery.service.js';
import { adminTokenMatches } from '../services/tenancy.service.js';
import { startAggregatorLoop } from '../worker/aggregator-loop.js';

/** Per-provider send rates from the config (deliveries per second, 0 = unlimited). */
const providerRate = (config: Config) => (provider: string) =>
  provider === 'smtp' ? config.smtp.maxPerSecond : 0;

/** Runs every observer of deliveries, in order (metrics beside the caller's own). */
export function combineDeliveryHooks(...all: Array<DeliveryHooks | undefined>): DeliveryHooks {
  const hooks = all.filter((h): h is DeliveryHooks => h !== undefined);
  return {
    onOutcome(email, result, outcome) {
      for (const h of hooks) h.onOutcome?.(email, result, outcome);
    },
  };
}

/**
 * Rate limits (tenant requests, provider sends), metrics and analytics, wired from the config.
 * One Redis connection of its own for the rate-limit state, independent of the dispatcher's.
 */
export function createOperations(opts: {
  config: Config;
  logger: Logger;
  db: Database;
  dispatcher: Dispatcher;
  /** Rate-limit state other than Redis (the embedded mode keeps it in memory). */
  limiter?: RateLimiter;
  breakers?: () => Promise<BreakerState[]>;
  journalSize?: () => number;
}) {
  const { config, logger, db, dispatcher } = opts;
  const limiter =
    opts.limiter ??
    createRedisRateLimiter({
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      onError: (err) =>
        logger.warn(
          { err: err.message },
          'rate-limit state unreachable in Redis; limits hold per process meanwhile',
        ),
    });
  const analyticsRepo = analyticsRepository(db);
  const analytics = analyticsService({ analytics: analyticsRepo });
  const opsRepo = operationsRepository(db);
  const metrics = createMetrics({
    dispatcher,
    waitingEmails: () => opsRepo.waitingEmails(),
    analyticsBacklog: () => analyticsRepo.backlog(),
    ...(opts.breakers ? { breakers: opts.breakers } : {}),
    ...(opts.journalSize ? { journalSize: opts.journalSize } : {}),
  });
  const deliveryHooks: DeliveryHooks = metrics.deliveryHooks;
  /** Delivery's pacing step: waits until the provider may take one more message. */
  const pace = providerPacer(limiter, providerRate(config), (p, s) => metrics.providerWaited(p, s));
  const api: ApiOperations = {
    limiter,
    rateLimit: config.rateLimit,
    metrics,
    metricsToken: config.metrics.token,
    analytics,
    ...(opts.breakers ? { breakers: opts.breakers } : {}),
    queuedFor: (providers) => opsRepo.queuedFor(providers),
  };

  let aggregator: { stop(): Promise<void> } | null = null;
  let metricsServer: Server | null = null;
  return {
    api,
    metrics,
    analytics,
    deliveryHooks,
    pace,
    /** Worker role: the analytics aggregator. */
    startWorkerLoops() {
      aggregator = startAggregatorLoop(analytics, config.analytics.intervalSeconds * 1000, logger);
    },
    /** METRICS_PORT: /metrics and /health/live on a port of its own (a worker process has no API). */
    async listenMetrics(): Promise<string | null> {
      if (config.metrics.port === null) return null;
      const token = config.metrics.token;
      const server = createServer((req, res) => {
        const auth = bearerToken(req.headers.authorization);
        const path = (req.url ?? '').split('?')[0];
        if (req.method === 'GET' && path === '/health/live') {
          // A worker has no API: its container's health check asks here.
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        } else if (req.method !== 'GET' || path !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        } else if (token !== null && !adminTokenMatches(token, auth)) {
          res.writeHead(401, { 'content-type': 'text/plain' }).end('metrics token required\n');
        } else {
          metrics.render().then(
            (body) => res.writeHead(200, { 'content-type': metrics.contentType }).end(body),
            () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
          );
        }
      });
      metricsServer = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.metrics.port ?? 0, config.http.host, () => resolve());
      });
      const addr = server.address();
      return typeof addr === 'object' && addr ? `http://${config.http.host}:${addr.port}/metrics` : null;
    },
    async stop() {
      await aggregator?.stop();
      await new Promise<void>((resolve) =>
        metricsServer ? metricsServer.close(() => resolve()) : resolve(),
      );
      await limiter.close();
    },
  };
}
export type Operations = ReturnType<typeof createOperations>;
