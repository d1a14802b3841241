import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { createMemoryBreaker, type ProviderBreaker } from '../breaker/provider-breaker.js';
import { createRedisBreaker } from '../breaker/redis.breaker.js';
import type { Config } from '../config/config.js';
import { apiKeysRepository } from '../db/api-keys.repository.js';
import { attachmentsRepository } from '../db/attachments.repository.js';
import { bulkRepository } from '../db/bulk.repository.js';
import type { Database } from '../db/database.js';
import { deadLettersRepository } from '../db/dead-letters.repository.js';
import { deliveriesRepository } from '../db/deliveries.repository.js';
import { domainsRepository } from '../db/domains.repository.js';
import { emailsRepository } from '../db/emails.repository.js';
import { inboxRepository } from '../db/inbox.repository.js';
import { migrate } from '../db/migrator.js';
import { outboundWebhooksRepository } from '../db/outbound-webhooks.repository.js';
import { createPgDatabase } from '../db/pg.database.js';
import { suppressionsRepository } from '../db/suppressions.repository.js';
import { systemSecret } from '../db/system-secrets.repository.js';
import { templatesRepository } from '../db/templates.repository.js';
import { tenantsRepository } from '../db/tenants.repository.js';
import { trackingRepository } from '../db/tracking.repository.js';
import { unsubscribeRepository } from '../db/unsubscribe.repository.js';
import { webhooksRepository } from '../db/webhooks.repository.js';
import { workersRepository } from '../db/workers.repository.js';
import { createTxtResolver } from '../lib/dns.js';
import { createLogger, type Logger, resolveLogFormat } from '../lib/logger.js';
import { createOutboundHttp, urlProblem } from '../lib/outbound-http.js';
import type { EmailProvider } from '../providers/email-provider.js';
import { createProviderRegistry } from '../providers/registry.js';
import type { HttpGet } from '../providers/ses/sns.js';
import { createWebhookVerifiers } from '../providers/webhook-registry.js';
import { createBullmqDispatcher } from '../queue/bullmq.dispatcher.js';
import type { Consumer, Dispatcher, JobHandlers } from '../queue/dispatcher.js';
import { QUEUES } from '../queue/jobs.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import { attachmentsService } from '../services/attachments.service.js';
import { bulkService } from '../services/bulk.service.js';
import { deadLettersService } from '../services/dead-letters.service.js';
import { type DeliveryHooks, deliveryService } from '../services/delivery.service.js';
import { demoService } from '../services/demo.service.js';
import { dkimKeys } from '../services/dkim-keys.js';
import { domainsService } from '../services/domains.service.js';
import { emailsService } from '../services/emails.service.js';
import { breakerHealth, providerRouter } from '../services/failover.js';
import { heartbeatService } from '../services/heartbeat.service.js';
import { inboxService } from '../services/inbox.service.js';
import { outboundWebhooksService } from '../services/outbound-webhooks.service.js';
import { createOutcomeJournal, type OutcomeJournal } from '../services/outcome-journal.js';
import { recoveryService } from '../services/recovery.service.js';
import { sendService } from '../services/send.service.js';
import { withSharedSenderLookups } from '../services/send-batcher.js';
import { sendersService } from '../services/senders.service.js';
import { suppressionsService } from '../services/suppressions.service.js';
import { templatesService } from '../services/templates.service.js';
import { tenancyService } from '../services/tenancy.service.js';
import { trackingService } from '../services/tracking.service.js';
import { unsubscribeService } from '../services/unsubscribe.service.js';
import { webhooksService } from '../services/webhooks.service.js';
import { RenderPool } from '../templates/render-pool.js';
import { startDomainCheckLoop } from '../worker/domain-check-loop.js';
import { jobHandlers } from '../worker/handlers.js';
import { startPeriodic } from '../worker/periodic.js';
import { startRecoveryLoop } from '../worker/recovery-loop.js';
import { startRetentionLoop } from '../worker/retention-loop.js';
import { startWebhookRelayLoop } from '../worker/webhook-relay-loop.js';
import { combineDeliveryHooks, createOperations, type Operations } from './operations.js';

export interface SystemOptions {
  config: Config;
  roles: { api: boolean; worker: boolean };
  /** Rate-limit state other than Redis (the embedded mode keeps it in memory). */
  rateLimiter?: RateLimiter;
  logger?: Logger;
  /** Providers added to (or replacing) the built-ins by name. */
  providers?: EmailProvider[];
  db?: Database;
  dispatcher?: Dispatcher;
  deliveryHooks?: DeliveryHooks;
  migrate?: boolean;
  /** What webhook verifiers use to reach providers (SNS certificates and confirmations). */
  webhookHttpGet?: HttpGet;
  /** The built console to serve at `/` (api role). */
  consoleDir?: string | null;
  /** Breaker state other than Redis; default: Redis with the BullMQ dispatcher, memory otherwise. */
  breaker?: ProviderBreaker;
}

export interface System {
  config: Config;
  logger: Logger;
  db: Database;
  dispatcher: Dispatcher;
  app: FastifyInstance | null;
  services: ReturnType<typeof buildServices>;
  /** Rate limits, metrics and analytics. */
  operations: Operations;
  /** Starts the HTTP listener (api role); resolves to the bound address. */
  listen(): Promise<string>;
  stop(): Promise<void>;
}

function buildServices(opts: {
  config: Config;
  logger: Logger;
  db: Database;
  dispatcher: Dispatcher;
  providers?: EmailProvider[];
  deliveryHooks?: DeliveryHooks;
  /** Delivery's pacing step (per-provider rate limits); absent: no pacing. */
  pace?: (provider: string) => Promise<void>;
  webhookHttpGet?: HttpGet;
  onWebhookEvent?: (provider: string, type: string, duplicate: boolean) => void;
  breaker: ProviderBreaker;
  journal: OutcomeJournal;
  workerId: string;
}) {
  const { config, logger, db, dispatcher } = opts;
  const repos = {
    tenants: tenantsRepository(db),
    apiKeys: apiKeysRepository(db),
    templates: templatesRepository(db),
    emails: emailsRepository(db),
    deliveries: deliveriesRepository(db),
    deadLetters: deadLettersRepository(db),
    suppressions: suppressionsRepository(db),
    bulk: bulkRepository(db),
    webhooks: webhooksRepository(db),
    domains: domainsRepository(db),
  };
  // Every template render (preview, the check at /send, bulk, delivery) runs in this pool.
  const renderer = new RenderPool({
    threads: config.render.threads,
    deadlineMs: config.render.deadlineMs,
    perTenant: config.render.perTenant,
    memoryMb: config.render.memoryMb,
  });
  const attachments = attachmentsService({
    repo: attachmentsRepository(db),
    maxBytes: config.attachments.maxBytes,
  });
  const inbox = inboxService({ inbox: inboxRepository(db) });
  const providers = createProviderRegistry({
    defaultProvider: config.defaultProvider,
    smtp: config.smtp,
    http: config.httpProviders,
    inbox: (c) => inbox.capture(c),
    ...(opts.providers ? { extra: opts.providers } : {}),
  });
  // Failover asks the shared circuit breaker (src/breaker) which providers may take mail; the
  // breaker's gate (one probe per provider) and its records stay in delivery.
  const providerHealth = breakerHealth(opts.breaker);
  const routeProvider = providerRouter({
    providers,
    health: providerHealth,
    defaultProvider: config.defaultProvider,
    tenantRoute: async (tenantId) => {
      const t = await repos.tenants.get(tenantId);
      return t ? { provider: t.provider, fallbacks: t.fallback_providers } : null;
    },
    onReroute: async (email, from, to) => {
      await repos.deliveries.reroute(email.id, email.attempts, from, to);
    },
  });
  const onDispatchError = (err: unknown) =>
    logger.warn({ err }, 'dispatch failed; the recovery loop will dispatch again');
  const heartbeat = heartbeatService({
    workers: workersRepository(db),
    workerId: opts.workerId,
    timeoutSeconds: config.delivery.heartbeatTimeoutSeconds,
  });
  const unsubscribe = unsubscribeService({
    repo: unsubscribeRepository(db),
    secret: async () =>
      config.unsubscribe.secret ? Buffer.from(config.unsubscribe.secret) : systemSecret(db, 'unsubscribe'),
    publicBaseUrl: config.http.publicBaseUrl,
    mailto: config.unsubscribe.mailto,
  });
  // DKIM private keys are sealed with SECRETS_KEY; without it (never in production) with a key
  // the system keeps in PostgreSQL, like the unsubscribe secret.
  const keys = dkimKeys({
    configured: config.secretsKeyHex ? Buffer.from(config.secretsKeyHex, 'hex') : null,
    stored: () => systemSecret(db, 'dkim-sealing-key'),
    production: config.env === 'production',
  });
  const senders = sendersService({ domains: repos.domains, keys, defaultFrom: config.smtp.from });
  // POST /send's look-ups are shared by the requests in flight (send-batcher.ts).
  const sendSenders = sendersService({
    domains: withSharedSenderLookups(repos.domains),
    keys,
    defaultFrom: config.smtp.from,
  });
  const domains = domainsService({
    db,
    domains: repos.domains,
    keys,
    dns: createTxtResolver({ servers: config.dns.servers, timeoutMs: config.dns.timeoutMs, tries: 2 }),
    spfMechanisms: config.domains.spfMechanisms,
    log: logger.child({ component: 'domains' }),
  });
  const bulk = bulkService({
    bulk: repos.bulk,
    templates: repos.templates,
    renderer,
    dispatcher,
    defaultProvider: config.defaultProvider,
    messageIdDomain: config.delivery.messageIdDomain,
    senders,
    attachments,
    onDispatchError,
  });
  // The tracking secret is read once per process (it never changes once stored).
  let trackingSecret: Promise<Buffer> | null = null;
  const tracking = trackingService({
    repo: trackingRepository(db),
    secret: () => {
      trackingSecret ??= (
        config.tracking.secret
          ? Promise.resolve(Buffer.from(config.tracking.secret))
          : systemSecret(db, 'tracking')
      ).catch((e) => {
        trackingSecret = null;
        throw e;
      });
      return trackingSecret;
    },
    publicBaseUrl: config.http.publicBaseUrl,
  });
  const allowPrivate = config.outboundWebhooks.allowPrivate;
  let webhookSealingKey: Promise<Buffer> | null = null;
  const outboundWebhooksHttp = createOutboundHttp({ allowPrivate });
  const outboundWebhooks = outboundWebhooksService({
    repo: outboundWebhooksRepository(db),
    sealing: {
      configured: config.secretsKeyHex ? Buffer.from(config.secretsKeyHex, 'hex') : null,
      stored: () => {
        webhookSealingKey ??= systemSecret(db, 'webhook-sealing-key').catch((e) => {
          webhookSealingKey = null;
          throw e;
        });
        return webhookSealingKey;
      },
    },
    dispatcher,
    http: outboundWebhooksHttp,
    urlProblem: (url) => urlProblem(url, allowPrivate),
    timeoutMs: config.outboundWebhooks.timeoutMs,
    retryScheduleSeconds: config.outboundWebhooks.retryScheduleSeconds,
    redispatchGraceSeconds: config.recovery.graceSeconds,
    onDispatchError,
  });
  const tenancy = tenancyService({ tenants: repos.tenants, apiKeys: repos.apiKeys });
  const templates = templatesService({ templates: repos.templates, renderer, senders });
  return {
    attachments,
    inbox,
    breaker: opts.breaker,
    bulk,
    domains,
    outboundWebhooks,
    outboundWebhooksHttp,
    tracking,
    senders,
    unsubscribe,
    tenancy,
    templates,
    demo: demoService({ db, apiKeys: repos.apiKeys, tenancy, templates }),
    /** The names of the providers this system can send through. */
    providerNames: () => providers.names(),
    /** Closes what the services hold outside the database: provider connections, render threads. */
    async close() {
      await providers.closeAll().catch(() => {});
      await renderer.close();
    },
    send: sendService({
      emails: repos.emails,
      templates: repos.templates,
      suppressions: repos.suppressions,
      renderer,
      dispatcher,
      defaultProvider: config.defaultProvider,
      messageIdDomain: config.delivery.messageIdDomain,
      senders: sendSenders,
      attachments,
      onDispatchError,
    }),
    emails: emailsService({
      emails: repos.emails,
      providerDown: async (provider) => (await opts.breaker.state(provider)).state !== 'closed',
      attachments: (t, id) => attachments.list(t, id),
    }),
    deadLetters: deadLettersService({ deadLetters: repos.deadLetters, dispatcher, onDispatchError }),
    delivery: deliveryService({
      deliveries: repos.deliveries,
      renderer,
      providers,
      dispatcher,
      retry: {
        maxRetries: config.delivery.maxRetries,
        baseSeconds: config.delivery.retryBaseSeconds,
        maxSeconds: config.delivery.retryMaxSeconds,
      },
      leaseSeconds: config.delivery.leaseSeconds,
      from: config.smtp.from,
      identity: (email) => senders.forDelivery(email),
      attachments: (email) => attachments.forDelivery(email.tenant_id, email.id),
      route: routeProvider,
      hasFallbacks: routeProvider.hasFallbacks,
      // Steps of each delivery: bulk mail (and transactional mail that asks for it) carries
      // one-click List-Unsubscribe; tracked mail gets its pixel and links; each provider's pace.
      listUnsubscribeHeaders: async (email) => unsubscribe.headersFor(email),
      trackHtml: (email, html) => tracking.transformHtml(email, html),
      mime: (message, tenantId) => renderer.mime(message, tenantId),
      ...(opts.pace ? { pace: opts.pace } : {}),
      ...(opts.deliveryHooks ? { hooks: opts.deliveryHooks } : {}),
      onDispatchError,
      breaker: opts.breaker,
      maxRetryAgeSeconds: config.delivery.maxRetryAgeSeconds,
      providerRetryMs: config.breaker.pauseSeconds * 1000,
      journal: opts.journal,
      workerId: opts.workerId,
      // One process (the embedded mode) has no other leader that could release its claims.
      ...(dispatcher.kind === 'bullmq' ? { heartbeatFresh: () => heartbeat.fresh() } : {}),
    }),
    recovery: recoveryService({
      db,
      deliveries: repos.deliveries,
      dispatcher,
      graceSeconds: config.recovery.graceSeconds,
      batchSize: config.recovery.batchSize,
      extra: (brokerReset) => bulk.recover(brokerReset ? 0 : config.recovery.graceSeconds),
      releaseDead: () => heartbeat.releaseDead(),
    }),
    heartbeat,
    suppressions: suppressionsService({ suppressions: repos.suppressions }),
    webhooks: webhooksService({
      webhooks: repos.webhooks,
      ...(opts.onWebhookEvent ? { onEvent: opts.onWebhookEvent } : {}),
      onRefused: (provider, reason) => logger.warn({ provider, reason }, 'webhook refused'),
      verifiers: createWebhookVerifiers({
        secrets: config.webhookSecrets,
        sesTopicArns: config.sesSnsTopicArns,
        replayGuard: { remember: (...args) => repos.webhooks.rememberToken(...args) },
        ...(opts.webhookHttpGet ? { httpGet: opts.webhookHttpGet } : {}),
      }),
    }),
  };
}

/**
 * The composition root: builds every part from the config and runs the roles asked for (the HTTP
 * API, the workers with the recovery loop, or both in one process).
 */
export async function createSystem(opts: SystemOptions): Promise<System> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel, { format: config.logFormat });
  const db =
    opts.db ??
    createPgDatabase(config.databaseUrl, { applicationName: 'mailsystem', max: config.databasePoolSize });
  const dispatcher =
    opts.dispatcher ??
    createBullmqDispatcher({
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      jobLockMs: config.delivery.jobLockSeconds * 1000,
      onError: (err, where) => logger.debug({ err, where }, 'redis error'),
    });
  if (opts.migrate) {
    const r = await migrate(db);
    if (r.applied.length > 0) logger.info({ applied: r.applied }, 'migrations applied');
  }
  const breakerOptions = {
    threshold: config.breaker.threshold,
    pauseMs: config.breaker.pauseSeconds * 1000,
    maxPauseMs: config.breaker.maxPauseSeconds * 1000,
    probeMs: config.delivery.leaseSeconds * 1000,
  };
  const breaker =
    opts.breaker ??
    (dispatcher.kind === 'bullmq'
      ? createRedisBreaker({
          ...breakerOptions,
          redisUrl: config.redisUrl,
          prefix: config.queuePrefix,
          onError: (err) =>
            logger.warn(
              { err: err.message },
              'breaker state unreachable in Redis; each process decides alone meanwhile',
            ),
        })
      : createMemoryBreaker(breakerOptions));
  const journal = createOutcomeJournal({
    onKept: (what, size) =>
      logger.warn({ what, size }, 'PostgreSQL unavailable: outcome kept until it can be written'),
  });
  const workerId = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  let providerNames: () => string[] = () => [];
  const breakers = async () => Promise.all(providerNames().map((p) => breaker.state(p)));
  const operations = createOperations({
    config,
    logger,
    db,
    dispatcher,
    ...(opts.rateLimiter ? { limiter: opts.rateLimiter } : {}),
    breakers,
    journalSize: () => journal.size,
  });
  const services = buildServices({
    breaker,
    journal,
    workerId,
    config,
    logger,
    db,
    dispatcher,
    ...(opts.providers ? { providers: opts.providers } : {}),
    deliveryHooks: combineDeliveryHooks(operations.deliveryHooks, opts.deliveryHooks),
    pace: operations.pace,
    onWebhookEvent: operations.metrics.webhookEvent,
    ...(opts.webhookHttpGet ? { webhookHttpGet: opts.webhookHttpGet } : {}),
  });
  providerNames = () => services.providerNames();

  if (opts.roles.api && config.adminApiToken === null) {
    logger.warn('ADMIN_API_TOKEN is not set: the admin API answers 403 until it is');
  }
  const app = opts.roles.api
    ? await buildApp({
        config,
        logger: logger.child({ role: 'api' }),
        db,
        dispatcher,
        services,
        consoleDir: opts.consoleDir ?? null,
        requestLogLevel: resolveLogFormat(config.logFormat) === 'pretty' ? 'debug' : 'info',
        operations: operations.api,
      })
    : null;

  let consumer: Consumer | null = null;
  let stopping: Promise<void> | undefined;
  let recoveryLoop: { stop(): Promise<void> } | null = null;
  let domainCheckLoop: { stop(): Promise<void> } | null = null;
  let webhookRelayLoop: { stop(): Promise<void> } | null = null;
  let journalLoop: { stop(): Promise<void> } | null = null;
  let heartbeatLoop: { stop(): Promise<void> } | null = null;
  let retentionLoop: { stop(): Promise<void> } | null = null;
  if (opts.roles.worker) {
    // Beat once before claiming anything, so no claim of this process looks like a dead one's.
    await services.heartbeat.beat().catch(() => {});
    heartbeatLoop = startPeriodic({
      name: 'worker heartbeat',
      intervalMs: services.heartbeat.intervalMs,
      logger,
      tick: () => services.heartbeat.beat(),
    });
    // Outcomes PostgreSQL could not take are written as soon as it answers again.
    journalLoop = startPeriodic({
      name: 'outcome journal',
      intervalMs: 250,
      logger,
      tick: () => (journal.size > 0 ? journal.flush() : Promise.resolve(0)),
      onResult: (n) => {
        if (n > 0) logger.info({ written: n, left: journal.size }, 'kept outcomes written');
      },
    });
    const handlers = jobHandlers({
      delivery: services.delivery,
      bulk: services.bulk,
      outboundWebhooks: services.outboundWebhooks,
      logger: logger.child({ role: 'worker' }),
      deliveryConcurrency: config.delivery.concurrency,
      isStopping: () => stopping !== undefined,
    });
    consumer = dispatcher.consume(
      Object.fromEntries(
        config.worker.queues.map((role) => [QUEUES[role].name, handlers[QUEUES[role].name]]),
      ) as JobHandlers,
      {
        concurrency: {
          ...Object.fromEntries(Object.values(QUEUES).map((q) => [q.name, q.concurrency])),
          'mail.send': config.delivery.concurrency,
        },
      },
    );
    recoveryLoop = startRecoveryLoop(services.recovery, config.recovery.intervalSeconds * 1000, logger);
    domainCheckLoop = startDomainCheckLoop(
      services.domains,
      config.domains.checkIntervalSeconds * 1000,
      logger,
    );
    retentionLoop = startRetentionLoop(
      {
        attachments: () => services.attachments.purge(config.attachments.retentionDays),
        inbox: () => services.inbox.trim(config.inbox.maxMessages),
        webhookDeliveries: () => services.outboundWebhooks.purge(config.outboundWebhooks.retentionDays),
      },
      logger,
    );
    if (config.worker.queues.includes('webhooks')) {
      webhookRelayLoop = startWebhookRelayLoop(
        services.outboundWebhooks,
        config.outboundWebhooks.relayIntervalMs,
        logger,
      );
    }
    operations.startWorkerLoops();
  }
  const metricsAddress = await operations.listenMetrics();
  if (metricsAddress) logger.info({ address: metricsAddress }, 'metrics listening');

  return {
    config,
    logger,
    db,
    dispatcher,
    app,
    services,
    operations,
    async listen() {
      if (!app) throw new Error('this process does not run the api role');
      return app.listen({ host: config.http.host, port: config.http.port });
    },
    stop() {
      // Order matters: stop taking requests, let running jobs finish, then close connections.
      stopping ??= (async () => {
        await app?.close();
        await consumer?.close();
        await recoveryLoop?.stop();
        await journalLoop?.stop();
        await journal.flush();
        await heartbeatLoop?.stop();
        if (heartbeatLoop) await services.heartbeat.stop();
        await domainCheckLoop?.stop();
        await retentionLoop?.stop();
        await webhookRelayLoop?.stop();
        await operations.stop();
        services.outboundWebhooksHttp.close();
        await services.close();
        await dispatcher.close();
        if (!opts.breaker) await breaker.close();
        if (!opts.db) await db.close();
      })();
      return stopping;
    },
  };
}
