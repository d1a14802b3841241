import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import type { LogFormat } from '../lib/logger.js';
import { ConfigError, type Env, EnvReader } from './env.js';

export const PROVIDER_NAMES = [
  'smtp',
  'mock',
  'inbox',
  'ses',
  'sendgrid',
  'postmark',
  'mailgun',
  'resend',
] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
/** Worker roles (`WORKER_QUEUES`); src/queue/jobs.ts maps each to its queue and default concurrency. */
export const QUEUE_ROLES = ['send', 'scheduled', 'bulk', 'dlq', 'webhooks'] as const;
export type QueueRole = (typeof QUEUE_ROLES)[number];

export interface SmtpConfig {
  /** null: no relay configured — `npm start` then runs the local capture server. */
  host: string | null;
  port: number;
  user: string | null;
  password: string | null;
  secure: boolean;
  from: string;
  poolSize: number;
  timeoutMs: number;
  /** Deliveries per second across all workers; 0 = unlimited. */
  maxPerSecond: number;
}

export interface Config {
  env: 'production' | 'development' | 'test';
  http: {
    host: string;
    port: number;
    publicBaseUrl: string;
    bodyLimitBytes: number;
    bulkBodyLimitBytes: number;
    /**
     * TRUST_PROXY, as Fastify's `trustProxy`: false (the socket's address is the client's), true
     * (trust every X-Forwarded-For hop), a number of hops, or addresses/CIDRs of trusted proxies.
     */
    trustProxy: boolean | number | string[];
  };
  databaseUrl: string;
  /** PostgreSQL connections per process. */
  databasePoolSize: number;
  redisUrl: string;
  /**
   * `npm start` only. auto: with neither DATABASE_URL nor REDIS_URL set, use the local PostgreSQL
   * and Redis when they answer, else an embedded PostgreSQL (PGlite) in `dataDir` and an
   * in-process queue. on: always embedded. off: never.
   */
  embedded: { mode: 'auto' | 'on' | 'off'; dataDir: string; backendsConfigured: boolean };
  queuePrefix: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** auto: readable lines at a terminal (request lines at debug), JSON otherwise. */
  logFormat: LogFormat;
  adminApiToken: string | null;
  /**
   * DEMO: whether `npm start` seeds the demo tenant, prints a key for it and generates an admin
   * token. null (unset): only in the zero-setup experience — never in production; in embedded mode,
   * or on a database that holds no tenant but the demo one.
   */
  demo: boolean | null;
  defaultProvider: string;
  smtp: SmtpConfig;
  capture: { dir: string | null };
  httpProviders: HttpProvidersConfig;
  attachments: {
    /** ATTACHMENTS_MAX_BYTES: decoded bytes of all files of one email (or shared by one bulk job). */
    maxBytes: number;
    /** ATTACHMENT_RETENTION_DAYS: content is removed this long after the last email needing it is final. */
    retentionDays: number;
  };
  /** INBOX_MAX_MESSAGES: captured messages kept per tenant (oldest removed first). */
  inbox: { maxMessages: number };
  delivery: {
    maxRetries: number;
    retryBaseSeconds: number;
    retryMaxSeconds: number;
    leaseSeconds: number;
    jobLockSeconds: number;
    concurrency: number;
    messageIdDomain: string;
    /** An email waiting on a failing provider gives up this long after acceptance. */
    maxRetryAgeSeconds: number;
    /** A worker whose heartbeat is older than this is dead: its claims are released at once. */
    heartbeatTimeoutSeconds: number;
  };
  /** The circuit breaker per provider (docs/providers.md). */
  breaker: { threshold: number; pauseSeconds: number; maxPauseSeconds: number };
  recovery: { intervalSeconds: number; graceSeconds: number; batchSize: number };
  /**
   * Per tenant (perSecond, burst), and failed authentications per client address
   * (authFailuresPerSecond, authFailureBurst; 0 per second = unlimited).
   */
  rateLimit: { perSecond: number; burst: number; authFailuresPerSecond: number; authFailureBurst: number };
  /** METRICS_TOKEN guards GET /metrics when set; METRICS_PORT serves it on a port of its own too. */
  metrics: { token: string | null; port: number | null };
  /** How often a worker folds new events into the analytics rollups. */
  analytics: { intervalSeconds: number };
  webhookSecrets: Record<string, string>;
  /** SES_SNS_TOPIC_ARNS: the SNS topics whose SES events are accepted; empty refuses them all. */
  sesSnsTopicArns: string[];
  worker: { queues: QueueRole[] };
  unsubscribe: { secret: string | null; mailto: string | null };
  /** Tenant event webhooks (docs/webhooks.md, "Outbound webhooks"). */
  outboundWebhooks: {
    /** OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: private/loopback addresses and http allowed. Unsafe in production. */
    allowPrivate: boolean;
    timeoutMs: number;
    /** Delay before each attempt, in seconds: the first is normally 0 (at once). */
    retryScheduleSeconds: number[];
    /** How often the relay moves due outbox rows into the mail.webhooks queue. */
    relayIntervalMs: number;
    /** WEBHOOK_DELIVERY_RETENTION_DAYS: finished deliveries are kept this long in the log. */
    retentionDays: number;
  };
  /** TRACKING_SECRET signs open/click tokens; null: a secret kept in PostgreSQL. */
  tracking: { secret: string | null };
  /**
   * SECRETS_KEY (hex of its 32 bytes): seals DKIM private keys at rest. Null: production refuses
   * to create domains; elsewhere a key kept in PostgreSQL seals them (docs/domains.md).
   */
  secretsKeyHex: string | null;
  /** DNS_SERVERS (`host[:port]`; none = the system's resolvers) and the timeout of one query. */
  dns: { servers: string[]; timeoutMs: number };
  /** The template render pool (docs/architecture.md): threads, hard deadline, per-tenant bound, heap. */
  render: { threads: number; deadlineMs: number; perTenant: number; memoryMb: number };
  domains: {
    /** SPF_INCLUDE as SPF mechanisms (`include:…`, `ip4:…`, `ip6:…`); empty: no SPF record suggested. */
    spfMechanisms: string[];
    /** How often a worker looks for domains whose DNS check is due. */
    checkIntervalSeconds: number;
  };
}

/**
 * The HTTP providers' settings. A provider is configured (usable as a tenant's provider or
 * fallback) when its credentials are set; the base URLs default to the real services and exist so
 * tests and air-gapped installs can point elsewhere.
 */
export interface HttpProvidersConfig {
  /** SES: credentials come from the AWS chain (env, shared files, instance role). */
  ses: { region: string | null; endpoint: string | null; configurationSet: string | null };
  sendgrid: { apiKey: string | null; apiUrl: string };
  postmark: { serverToken: string | null; apiUrl: string; messageStream: string | null };
  mailgun: { apiKey: string | null; domain: string | null; apiUrl: string };
  resend: { apiKey: string | null; apiUrl: string };
  /** Per-request timeout for every HTTP provider. */
  timeoutMs: number;
}

const DEFAULT_PORT = 8000;

/** Parse the environment once into a frozen Config; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const port = r.int('PORT', DEFAULT_PORT, { min: 0, max: 65535 });
  const host = r.string('HOST', '127.0.0.1');
  const publicBaseUrl = r.url('PUBLIC_BASE_URL', `http://localhost:${port}`, ['http:', 'https:']) as string;
  const nodeEnv = r.oneOf('NODE_ENV', ['production', 'development', 'test'] as const, 'development');

  const smtpHost = r.optionalString('SMTP_HOST');
  const smtpSecure = r.bool('SMTP_SECURE', false);
  const config: Config = {
    env: nodeEnv,
    http: {
      host,
      port,
      publicBaseUrl: publicBaseUrl.replace(/\/+$/, ''),
      bodyLimitBytes: r.int('BODY_LIMIT_BYTES', 1024 * 1024, { min: 1024 }),
      bulkBodyLimitBytes: r.int('BULK_BODY_LIMIT_BYTES', 64 * 1024 * 1024, { min: 1024 }),
      trustProxy: trustProxy(r),
    },
    databaseUrl: r.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/mailsystem', [
      'postgres:',
      'postgresql:',
    ]) as string,
    databasePoolSize: r.int('DATABASE_POOL_SIZE', 10, { min: 2, max: 500 }),
    redisUrl: r.url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']) as string,
    embedded: {
      mode: r.oneOf('EMBEDDED', ['auto', 'on', 'off'] as const, 'auto'),
      dataDir: r.string('DATA_DIR', '.data'),
      backendsConfigured: r.raw('DATABASE_URL') !== undefined || r.raw('REDIS_URL') !== undefined,
    },
    queuePrefix: r.string('QUEUE_PREFIX', 'mailsystem'),
    logLevel: r.oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      nodeEnv === 'test' ? 'silent' : 'info',
    ),
    logFormat: r.oneOf('LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto'),
    adminApiToken: r.optionalString('ADMIN_API_TOKEN'),
    demo: r.raw('DEMO') === undefined ? null : r.bool('DEMO', false),
    defaultProvider: r.oneOf('DEFAULT_PROVIDER', PROVIDER_NAMES, 'smtp'),
    smtp: {
      host: smtpHost,
      port: r.int('SMTP_PORT', smtpHost ? (smtpSecure ? 465 : 587) : 2525, { min: 1, max: 65535 }),
      user: r.optionalString('SMTP_USER'),
      password: r.optionalString('SMTP_PASSWORD'),
      secure: smtpSecure,
      from: r.string('SMTP_FROM', 'Mailsystem <no-reply@mailsystem.local>'),
      poolSize: r.int('SMTP_POOL_SIZE', 5, { min: 1, max: 100 }),
      timeoutMs: r.int('SMTP_TIMEOUT_MS', 30_000, { min: 100 }),
      maxPerSecond: r.number('SMTP_MAX_PER_SECOND', 0, { min: 0 }),
    },
    capture: {
      dir: r.optionalString('CAPTURE_DIR'),
    },
    httpProviders: {
      ses: {
        region: r.optionalString('SES_REGION') ?? r.optionalString('AWS_REGION'),
        endpoint: r.url('SES_ENDPOINT', null, ['http:', 'https:']),
        configurationSet: r.optionalString('SES_CONFIGURATION_SET'),
      },
      sendgrid: {
        apiKey: r.optionalString('SENDGRID_API_KEY'),
        apiUrl: baseUrl(r, 'SENDGRID_API_URL', 'https://api.sendgrid.com'),
      },
      postmark: {
        serverToken: r.optionalString('POSTMARK_SERVER_TOKEN'),
        apiUrl: baseUrl(r, 'POSTMARK_API_URL', 'https://api.postmarkapp.com'),
        messageStream: r.optionalString('POSTMARK_MESSAGE_STREAM'),
      },
      mailgun: {
        apiKey: r.optionalString('MAILGUN_API_KEY'),
        domain: r.optionalString('MAILGUN_DOMAIN'),
        apiUrl: baseUrl(r, 'MAILGUN_API_URL', 'https://api.mailgun.net'),
      },
      resend: {
        apiKey: r.optionalString('RESEND_API_KEY'),
        apiUrl: baseUrl(r, 'RESEND_API_URL', 'https://api.resend.com'),
      },
      timeoutMs: r.int('HTTP_PROVIDER_TIMEOUT_MS', 30_000, { min: 100 }),
    },
    attachments: {
      maxBytes: r.int('ATTACHMENTS_MAX_BYTES', 10 * 1024 * 1024, { min: 1, max: 40 * 1024 * 1024 }),
      retentionDays: r.number('ATTACHMENT_RETENTION_DAYS', 7, { min: 0 }),
    },
    inbox: { maxMessages: r.int('INBOX_MAX_MESSAGES', 1000, { min: 1 }) },
    delivery: {
      maxRetries: r.int('MAX_RETRIES', 5, { min: 0, max: 100 }),
      retryBaseSeconds: r.number('RETRY_BASE_SECONDS', 30, { min: 0 }),
      retryMaxSeconds: r.number('RETRY_MAX_SECONDS', 3600, { min: 0 }),
      leaseSeconds: r.number('LEASE_SECONDS', 120, { min: 1 }),
      jobLockSeconds: r.number('JOB_LOCK_SECONDS', 10, { min: 2 }),
      concurrency: r.int('WORKER_CONCURRENCY', 20, { min: 1, max: 1000 }),
      messageIdDomain: r.string('MESSAGE_ID_DOMAIN', 'mailsystem.local'),
      maxRetryAgeSeconds: r.number('MAX_RETRY_AGE_SECONDS', 86_400, { min: 1 }),
      heartbeatTimeoutSeconds: r.number('WORKER_HEARTBEAT_TIMEOUT_SECONDS', 10, { min: 1 }),
    },
    breaker: {
      threshold: r.int('BREAKER_THRESHOLD', 5, { min: 1, max: 10_000 }),
      pauseSeconds: r.number('BREAKER_PAUSE_SECONDS', 1, { min: 0.05 }),
      maxPauseSeconds: r.number('BREAKER_MAX_PAUSE_SECONDS', 60, { min: 0.05 }),
    },
    recovery: {
      intervalSeconds: r.number('RECOVERY_INTERVAL_SECONDS', 5, { min: 0.1 }),
      graceSeconds: r.number('RECOVERY_GRACE_SECONDS', 60, { min: 0 }),
      batchSize: r.int('RECOVERY_BATCH_SIZE', 1000, { min: 1 }),
    },
    rateLimit: {
      perSecond: r.number('RATE_LIMIT_PER_SECOND', 100, { min: 0 }),
      burst: r.int('RATE_LIMIT_BURST', 200, { min: 0 }),
      authFailuresPerSecond: r.number('AUTH_FAILURES_PER_SECOND', 0.2, { min: 0 }),
      authFailureBurst: r.int('AUTH_FAILURE_BURST', 20, { min: 1 }),
    },
    metrics: {
      token: r.optionalString('METRICS_TOKEN'),
      port: r.raw('METRICS_PORT') ? r.int('METRICS_PORT', 0, { min: 1, max: 65535 }) : null,
    },
    analytics: {
      intervalSeconds: r.number('ANALYTICS_INTERVAL_SECONDS', 1, { min: 0.1, max: 3600 }),
    },
    webhookSecrets: r.withPrefix('WEBHOOK_SECRET_'),
    sesSnsTopicArns: r.list('SES_SNS_TOPIC_ARNS', []).filter((arn) => {
      if (SNS_TOPIC_ARN.test(arn)) return true;
      r.problems.push(`SES_SNS_TOPIC_ARNS must list SNS topic ARNs (got "${arn}")`);
      return false;
    }),
    worker: {
      queues: r.list('WORKER_QUEUES', [...QUEUE_ROLES]).filter((q): q is QueueRole => {
        if ((QUEUE_ROLES as readonly string[]).includes(q)) return true;
        r.problems.push(`WORKER_QUEUES must list some of ${QUEUE_ROLES.join(', ')} (got "${q}")`);
        return false;
      }),
    },
    unsubscribe: {
      secret: r.optionalString('UNSUBSCRIBE_SECRET'),
      mailto: r.optionalString('UNSUBSCRIBE_MAILTO'),
    },
    outboundWebhooks: {
      allowPrivate: r.bool('OUTBOUND_WEBHOOKS_ALLOW_PRIVATE', false),
      timeoutMs: r.int('OUTBOUND_WEBHOOKS_TIMEOUT_MS', 10_000, { min: 100, max: 60_000 }),
      retryScheduleSeconds: r
        .list('OUTBOUND_WEBHOOKS_RETRY_SCHEDULE', [
          '0',
          '5',
          '300',
          '1800',
          '7200',
          '18000',
          '36000',
          '36000',
        ])
        .flatMap((s) => {
          const n = Number(s);
          if (s !== '' && Number.isFinite(n) && n >= 0) return [n];
          r.problems.push(`OUTBOUND_WEBHOOKS_RETRY_SCHEDULE must list seconds >= 0 (got "${s}")`);
          return [];
        }),
      relayIntervalMs: r.int('OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS', 1000, { min: 50, max: 60_000 }),
      retentionDays: r.number('WEBHOOK_DELIVERY_RETENTION_DAYS', 30, { min: 0 }),
    },
    tracking: { secret: r.optionalString('TRACKING_SECRET') },
    secretsKeyHex: secretsKey(r),
    dns: {
      servers: r.list('DNS_SERVERS', []).filter((s) => {
        if (isDnsServer(s)) return true;
        r.problems.push(
          `DNS_SERVERS must list IP addresses with an optional :port, e.g. 127.0.0.1:53 or [::1]:5353 (got "${s}")`,
        );
        return false;
      }),
      timeoutMs: r.int('DNS_TIMEOUT_MS', 5000, { min: 100, max: 60_000 }),
    },
    render: renderConfig(r),
    domains: {
      spfMechanisms: r.list('SPF_INCLUDE', []).flatMap((item) => {
        const m = spfMechanism(item);
        if (m) return [m];
        r.problems.push(`SPF_INCLUDE must list host names or IP addresses (CIDR allowed) (got "${item}")`);
        return [];
      }),
      checkIntervalSeconds: r.number('DOMAIN_CHECK_INTERVAL_SECONDS', 30, { min: 0.1, max: 86_400 }),
    },
  };

  if (config.delivery.retryMaxSeconds < config.delivery.retryBaseSeconds) {
    r.problems.push('RETRY_MAX_SECONDS must be >= RETRY_BASE_SECONDS');
  }
  if (config.breaker.maxPauseSeconds < config.breaker.pauseSeconds) {
    r.problems.push('BREAKER_MAX_PAUSE_SECONDS must be >= BREAKER_PAUSE_SECONDS');
  }
  if (config.adminApiToken !== null && config.adminApiToken.length < 16) {
    r.problems.push('ADMIN_API_TOKEN must be at least 16 characters');
  }
  if (config.metrics.token !== null && config.metrics.token.length < 16) {
    r.problems.push('METRICS_TOKEN must be at least 16 characters');
  }
  if (config.outboundWebhooks.retryScheduleSeconds.length === 0) {
    r.problems.push('OUTBOUND_WEBHOOKS_RETRY_SCHEDULE must list at least one delay');
  }
  r.problems.push(...webhookSecretProblems(config.webhookSecrets));
  const hp = config.httpProviders;
  if ((hp.mailgun.apiKey === null) !== (hp.mailgun.domain === null)) {
    r.problems.push('MAILGUN_API_KEY and MAILGUN_DOMAIN must be set together');
  }
  if (!configuredProviders(config).includes(config.defaultProvider as ProviderName)) {
    r.problems.push(
      `DEFAULT_PROVIDER "${config.defaultProvider}" is not configured (set its credentials; configured: ${configuredProviders(config).join(', ')})`,
    );
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

function trustProxy(r: EnvReader): boolean | number | string[] {
  const v = r.raw('TRUST_PROXY');
  if (v === undefined) return false;
  if (/^(true|false|1|0|yes|no|on|off)$/i.test(v) && !/^\d+$/.test(v)) return r.bool('TRUST_PROXY', false);
  if (/^\d+$/.test(v)) return Number(v);
  const items = v.split(',').map((s) => s.trim());
  for (const item of items) {
    const [addr = '', prefix] = item.split('/');
    if (isIP(addr) === 0 || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) {
      r.problems.push(
        `TRUST_PROXY must be true, false, a number of hops or proxy addresses/CIDRs, comma-separated (got "${item}")`,
      );
      return false;
    }
  }
  return items;
}

function renderConfig(r: EnvReader): Config['render'] {
  const threads = r.int('RENDER_THREADS', Math.max(2, Math.min(4, availableParallelism())), {
    min: 1,
    max: 64,
  });
  return {
    threads,
    deadlineMs: r.int('RENDER_DEADLINE_MS', 2000, { min: 50, max: 60_000 }),
    // Below the thread count, so one tenant's slow renders always leave a thread for the others.
    perTenant: r.int('RENDER_TENANT_CONCURRENCY', Math.max(1, Math.floor(threads / 2)), { min: 1, max: 64 }),
    memoryMb: r.int('RENDER_MEMORY_MB', 128, { min: 16, max: 4096 }),
  };
}

/** A provider's base URL without a trailing slash. */
function baseUrl(r: EnvReader, name: string, fallback: string): string {
  return (r.url(name, fallback, ['http:', 'https:']) as string).replace(/\/+$/, '');
}

/** SECRETS_KEY: 32 bytes as 64 hex characters or base64 (either alphabet); never echoed back. */
function secretsKey(r: EnvReader): string | null {
  const v = r.optionalString('SECRETS_KEY');
  if (v === null) return null;
  const bytes = /^[0-9a-fA-F]{64}$/.test(v)
    ? Buffer.from(v, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(v)
      ? Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : null;
  if (bytes?.length !== 32) {
    r.problems.push(
      'SECRETS_KEY must be 32 random bytes, as 64 hex characters or base64 (openssl rand -base64 32)',
    );
    return null;
  }
  return bytes.toString('hex');
}

/** `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port`, as node:dns setServers takes them. */
function isDnsServer(s: string): boolean {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(s);
  const host = m?.[1] ?? s;
  const port = m?.[2] === undefined ? 53 : Number(m[2]);
  const bare = m === null && isIP(s) === 6; // an IPv6 address without brackets or port
  return (bare || (m !== null && isIP(host) !== 0)) && port >= 1 && port <= 65535;
}

const HOST_NAME =
  /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}$/;

/** One SPF_INCLUDE item as an SPF mechanism: a host name → include:, an address (or CIDR) → ip4:/ip6:. */
function spfMechanism(item: string): string | null {
  const [addr = '', prefix, ...rest] = item.split('/');
  if (rest.length > 0) return null;
  const family = isIP(addr);
  if (family !== 0) {
    if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)))
      return null;
    return `ip${family}:${item}`;
  }
  return prefix === undefined && HOST_NAME.test(item) ? `include:${item.toLowerCase()}` : null;
}

const SNS_TOPIC_ARN = /^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/**
 * Webhook secrets whose format is known: a `whsec_` secret must be base64 after the prefix, and
 * SendGrid's is the verification key it shows (base64 DER of a P-256 public key, or a PEM).
 */
function webhookSecretProblems(secrets: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    const variable = `WEBHOOK_SECRET_${name.toUpperCase()}`;
    if (secret.startsWith('whsec_') && !/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
      problems.push(`${variable} must be base64 after "whsec_"`);
    }
    if (name === 'sendgrid') {
      try {
        const key = secret.includes('-----BEGIN')
          ? createPublicKey(secret)
          : createPublicKey({ key: Buffer.from(secret, 'base64'), format: 'der', type: 'spki' });
        if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not P-256');
      } catch {
        problems.push(`${variable} must be the base64 P-256 verification key SendGrid shows`);
      }
    }
  }
  return problems;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * The providers this installation can deliver through: SMTP, the mock and the inbox always; an
 * HTTP provider once its credentials (SES: its region) are set.
 */
export function configuredProviders(config: Pick<Config, 'httpProviders'>): ProviderName[] {
  const hp = config.httpProviders;
  const names: ProviderName[] = ['smtp', 'mock', 'inbox'];
  if (hp.ses.region) names.push('ses');
  if (hp.sendgrid.apiKey) names.push('sendgrid');
  if (hp.postmark.serverToken) names.push('postmark');
  if (hp.mailgun.apiKey && hp.mailgun.domain) names.push('mailgun');
  if (hp.resend.apiKey) names.push('resend');
  return names;
}
