import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { BreakerState } from '../breaker/provider-breaker.js';
import type { Config } from '../config/config.js';
import type { Database } from '../db/database.js';
import { AppError } from '../domain/errors.js';
import { type Logger, redactUrl } from '../lib/logger.js';
import { findUnstorableText } from '../lib/text-safety.js';
import type { Metrics } from '../observability/metrics.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import type { RateLimiter } from '../ratelimit/rate-limiter.js';
import type { AnalyticsService } from '../services/analytics.service.js';
import type { BulkService } from '../services/bulk.service.js';
import type { DeadLettersService } from '../services/dead-letters.service.js';
import type { DomainsService } from '../services/domains.service.js';
import type { EmailsService } from '../services/emails.service.js';
import type { InboxService } from '../services/inbox.service.js';
import type { OutboundWebhooksService } from '../services/outbound-webhooks.service.js';
import type { SendService } from '../services/send.service.js';
import type { SendersService } from '../services/senders.service.js';
import type { SuppressionsService } from '../services/suppressions.service.js';
import type { TemplatesService } from '../services/templates.service.js';
import type { TenancyService } from '../services/tenancy.service.js';
import type { TrackingService } from '../services/tracking.service.js';
import type { UnsubscribeService } from '../services/unsubscribe.service.js';
import type { WebhooksService } from '../services/webhooks.service.js';
import { tenantAuth } from './plugins/auth.js';
import { consolePlugin } from './plugins/console.js';
import { registerErrorHandling } from './plugins/errors.js';
import { authFailureLimit, tenantRateLimit } from './plugins/rate-limit.js';
import { frameworkErrors, registerSecurity, tagLogWithTenant } from './plugins/security.js';
import { adminRoutes } from './routes/admin.routes.js';
import { analyticsRoutes } from './routes/analytics.routes.js';
import { bulkRoutes } from './routes/bulk.routes.js';
import { deadLettersRoutes } from './routes/dead-letters.routes.js';
import { domainsRoutes } from './routes/domains.routes.js';
import { emailsRoutes } from './routes/emails.routes.js';
import { eventsRoutes } from './routes/events.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { inboxRoutes } from './routes/inbox.routes.js';
import { meRoutes } from './routes/me.routes.js';
import { metricsRoutes } from './routes/metrics.routes.js';
import { sendRoutes } from './routes/send.routes.js';
import { suppressionsRoutes } from './routes/suppressions.routes.js';
import { templatesRoutes } from './routes/templates.routes.js';
import { trackingAdminRoutes, trackingRoutes } from './routes/tracking.routes.js';
import { unsubscribeRoutes } from './routes/unsubscribe.routes.js';
import { webhookEndpointsRoutes } from './routes/webhook-endpoints.routes.js';
import { webhooksRoutes } from './routes/webhooks.routes.js';
import { describeRoute, registerRouteDocs } from './schemas/route-docs.js';
import { webhooksDocument } from './schemas/webhook-events.js';
import { validatorCompiler } from './validation.js';

export interface ApiDeps {
  config: Pick<Config, 'http' | 'adminApiToken' | 'attachments'>;
  logger?: Logger;
  db: Database;
  dispatcher: Dispatcher;
  services: {
    tenancy: TenancyService;
    templates: TemplatesService;
    send: SendService;
    emails: EmailsService;
    deadLetters: DeadLettersService;
    bulk: BulkService;
    unsubscribe: UnsubscribeService;
    webhooks: WebhooksService;
    suppressions: SuppressionsService;
    domains: DomainsService;
    senders: SendersService;
    /** The providers this installation can deliver through (tenants pick among them). */
    providerNames(): string[];
    inbox: InboxService;
    outboundWebhooks: OutboundWebhooksService;
    tracking: TrackingService;
  };
  /** The built console (web/dist) to serve at `/`; absent or null serves the API only. */
  consoleDir?: string | null;
  /** Rate limits, metrics and analytics; absent in a bare API (no limits, no /metrics). */
  operations?: ApiOperations;
  /**
   * info (default): Fastify's own lines for each request, as a log collector wants them. debug: one
   * short line per request at debug, so that readable logs at a terminal show what matters.
   */
  requestLogLevel?: 'info' | 'debug';
}

export interface ApiOperations {
  limiter: RateLimiter | null;
  rateLimit: Config['rateLimit'];
  metrics: Metrics;
  metricsToken: string | null;
  analytics: AnalyticsService;
  /** The circuit breaker of every provider, for /health/ready. */
  breakers?: () => Promise<BreakerState[]>;
  /** Queued emails per provider (for providers whose breaker is open). */
  queuedFor?: (providers: string[]) => Promise<Record<string, number>>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Readable logs: one short line per request, at debug; failures keep Fastify's own lines. */
class QuietRequestLog extends LogController {
  override incomingRequest() {}

  override requestCompleted(error: Error | null, req: FastifyRequest, reply: FastifyReply) {
    if (error) return super.requestCompleted(error, req, reply);
    req.log.debug(
      `${req.method} ${redactUrl(req.url)} ${reply.statusCode} ${Math.round(reply.elapsedTime)} ms`,
    );
  }
}

/** The HTTP API, ready to `listen()` or to `inject()` in tests. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const opts: FastifyServerOptions = {
    bodyLimit: deps.config.http.bodyLimitBytes,
    // TRUST_PROXY: which X-Forwarded-For hops name the client (per-address limits use req.ip).
    // (Fastify takes a hop count too, though its types do not list it.)
    trustProxy: (deps.config.http.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
    // Unsubscribe tokens carry their signed claims in the path.
    routerOptions: { maxParamLength: 1024 },
    requestTimeout: 60_000,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { allErrors: true } },
    // A bad percent-encoding or an over-long path parameter, in the API's error shape.
    frameworkErrors,
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...(deps.requestLogLevel === 'debug' ? { logController: new QuietRequestLog() } : {}),
  };
  const app = Fastify(opts).withTypeProvider<TypeBoxTypeProvider>();
  // The API speaks JSON: any other body is a 415, not a schema error about a string. Webhook and
  // unsubscribe routes set their own parsers (SNS posts JSON as text/plain; mail clients post forms).
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  registerErrorHandling(app);
  registerRouteDocs(app);
  const ops = deps.operations;
  registerSecurity(app, { limiter: ops?.limiter ?? null, metrics: ops?.metrics ?? null });
  app.decorateRequest('tenant', null);
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });
  app.addHook('preValidation', async (req) => {
    for (const [part, value] of [
      ['body', req.body],
      ['query', req.query],
      ['params', req.params],
    ] as const) {
      const bad = findUnstorableText(value);
      if (bad) {
        throw new AppError('validation_failed', undefined, [
          {
            field: `${part === 'body' ? '' : `${part}.`}${bad}`,
            message: 'contains NUL or an unpaired surrogate, or is nested more than 64 levels deep',
          },
        ]);
      }
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Mailsystem API',
        version: '1.0.0',
        description:
          'Multi-tenant transactional and bulk email. Errors: {"error": {"code", "message", "details"}}.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant API key (ms_…)' },
          adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_API_TOKEN' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set' },
        },
      },
      // The events Mailsystem POSTs to tenants' endpoints (OpenAPI 3.1 webhooks).
      webhooks: webhooksDocument(),
    } as Record<string, unknown>,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const { services } = deps;
  await app.register(
    healthRoutes({
      db: deps.db,
      dispatcher: deps.dispatcher,
      ...(ops?.breakers ? { breakers: ops.breakers } : {}),
      ...(ops?.queuedFor ? { queuedFor: ops.queuedFor } : {}),
    }),
  );
  if (ops) await app.register(metricsRoutes({ metrics: ops.metrics, token: ops.metricsToken }));
  await app.register(
    adminRoutes({
      tenancy: services.tenancy,
      adminApiToken: deps.config.adminApiToken,
      cancelOpen: (tenantId) => services.emails.cancelOpen(tenantId),
      openEmails: (tenantId) => services.emails.countOpen(tenantId),
      providers: services.providerNames(),
    }),
  );
  // Providers authenticate with their own signatures, not with tenant keys.
  await app.register(webhooksRoutes({ webhooks: services.webhooks }));
  await app.register(unsubscribeRoutes({ unsubscribe: services.unsubscribe }));
  await app.register(trackingRoutes({ tracking: services.tracking }));
  await app.register(
    trackingAdminRoutes({ tracking: services.tracking, adminApiToken: deps.config.adminApiToken }),
  );
  await app.register(async (tenantScope) => {
    tenantScope.addHook(
      'onRequest',
      tenantAuth(
        services.tenancy,
        ops?.limiter && ops.rateLimit.authFailuresPerSecond > 0
          ? authFailureLimit({
              limiter: ops.limiter,
              perSecond: ops.rateLimit.authFailuresPerSecond,
              burst: ops.rateLimit.authFailureBurst,
              onLimited: () => ops.metrics.rateLimited('auth'),
            })
          : null,
      ),
    );
    tenantScope.addHook('onRequest', tagLogWithTenant);
    tenantScope.addHook('onRoute', describeRoute('tenant'));
    if (ops?.limiter) {
      const { limiter, metrics } = ops;
      tenantScope.addHook(
        'onRequest',
        tenantRateLimit({ limiter, defaults: ops.rateLimit, onLimited: () => metrics.rateLimited('tenant') }),
      );
    }
    if (ops) await tenantScope.register(analyticsRoutes({ analytics: ops.analytics }));
    await tenantScope.register(meRoutes({ tenancy: services.tenancy }));
    await tenantScope.register(templatesRoutes({ templates: services.templates }));
    await tenantScope.register(
      sendRoutes({
        send: services.send,
        bodyLimit: deps.config.http.bodyLimitBytes + 2 * deps.config.attachments.maxBytes,
        bodyLimitWithoutAttachments: deps.config.http.bodyLimitBytes,
      }),
    );
    await tenantScope.register(
      bulkRoutes({ bulk: services.bulk, bodyLimit: deps.config.http.bulkBodyLimitBytes }),
    );
    await tenantScope.register(emailsRoutes({ emails: services.emails }));
    await tenantScope.register(eventsRoutes({ emails: services.emails }));
    await tenantScope.register(deadLettersRoutes({ deadLetters: services.deadLetters }));
    await tenantScope.register(suppressionsRoutes({ suppressions: services.suppressions }));
    await tenantScope.register(inboxRoutes({ inbox: services.inbox }));
    await tenantScope.register(webhookEndpointsRoutes({ outboundWebhooks: services.outboundWebhooks }));
    await tenantScope.register(domainsRoutes({ domains: services.domains, senders: services.senders }));
  });
  if (deps.consoleDir) await app.register(consolePlugin(deps.consoleDir));
  return app;
}
