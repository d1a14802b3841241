import { describe, expect, it } from 'vitest';
import { configuredProviders, loadConfig } from './config.js';
import { ConfigError } from './env.js';

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.http.port).toBe(8000);
    expect(c.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/mailsystem');
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.defaultProvider).toBe('smtp');
    expect(c.delivery.maxRetries).toBe(5);
    expect(c.smtp.host).toBeNull();
    expect(c.smtp.port).toBe(2525);
    expect(c.logFormat).toBe('auto');
    expect(Object.isFrozen(c.smtp)).toBe(true);
  });

  it('reads TRUST_PROXY as a flag, a hop count or proxy addresses', () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).http.trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    expect(() => loadConfig({ TRUST_PROXY: 'the-proxy' })).toThrow(/TRUST_PROXY/);
  });

  it('reads the render pool settings and names a bad one', () => {
    const c = loadConfig({ RENDER_THREADS: '3', RENDER_DEADLINE_MS: '1500', RENDER_MEMORY_MB: '64' });
    expect(c.render).toEqual({ threads: 3, deadlineMs: 1500, perTenant: 1, memoryMb: 64 });
    expect(() => loadConfig({ RENDER_DEADLINE_MS: 'soon' })).toThrow(/RENDER_DEADLINE_MS/);
    expect(() => loadConfig({ RENDER_TENANT_CONCURRENCY: '0' })).toThrow(/RENDER_TENANT_CONCURRENCY/);
  });

  it('names every bad variable at once', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        MAX_RETRIES: '-1',
        DEFAULT_PROVIDER: 'carrier-pigeon',
        SMTP_SECURE: 'maybe',
        DATABASE_URL: 'mysql://x',
        LOG_FORMAT: 'xml',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    for (const name of [
      'PORT',
      'MAX_RETRIES',
      'DEFAULT_PROVIDER',
      'SMTP_SECURE',
      'DATABASE_URL',
      'LOG_FORMAT',
    ]) {
      expect(message).toContain(name);
    }
    expect((err as ConfigError).problems).toHaveLength(6);
  });

  it('never prints a password from a URL it refuses', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://user:s3cret@host' })).toThrow(/REDIS_URL/);
    try {
      loadConfig({ REDIS_URL: 'http://user:s3cret@host' });
    } catch (e) {
      expect((e as Error).message).not.toContain('s3cret');
    }
  });

  it('reads WEBHOOK_SECRET_<PROVIDER> by provider name', () => {
    const c = loadConfig({ WEBHOOK_SECRET_SMTP: 'whsec_abc', WEBHOOK_SECRET_MOCK: 'plain' });
    expect(c.webhookSecrets).toMatchObject({ smtp: 'whsec_abc', mock: 'plain' });
  });

  it('refuses a retry cap below the base and a short admin token', () => {
    expect(() => loadConfig({ RETRY_BASE_SECONDS: '10', RETRY_MAX_SECONDS: '5' })).toThrow(
      /RETRY_MAX_SECONDS/,
    );
    expect(() => loadConfig({ ADMIN_API_TOKEN: 'short' })).toThrow(/ADMIN_API_TOKEN/);
  });

  it('reads the outage settings with their documented defaults and refuses bad ones by name', () => {
    const c = loadConfig({});
    expect(c.delivery.maxRetryAgeSeconds).toBe(86_400);
    expect(c.delivery.heartbeatTimeoutSeconds).toBe(10);
    expect(c.breaker).toEqual({ threshold: 5, pauseSeconds: 1, maxPauseSeconds: 60 });
    expect(() => loadConfig({ BREAKER_PAUSE_SECONDS: '10', BREAKER_MAX_PAUSE_SECONDS: '5' })).toThrow(
      /BREAKER_MAX_PAUSE_SECONDS/,
    );
    expect(() => loadConfig({ BREAKER_THRESHOLD: '0', MAX_RETRY_AGE_SECONDS: 'soon' })).toThrow(
      /BREAKER_THRESHOLD[\s\S]*MAX_RETRY_AGE_SECONDS|MAX_RETRY_AGE_SECONDS[\s\S]*BREAKER_THRESHOLD/,
    );
  });

  it('reads the sending-domain settings: SECRETS_KEY, DNS_SERVERS and SPF_INCLUDE', () => {
    const key = Buffer.alloc(32, 7);
    const c = loadConfig({
      SECRETS_KEY: key.toString('base64'),
      DNS_SERVERS: '127.0.0.1:5353, 10.0.0.2, [::1]:53, ::1',
      SPF_INCLUDE: 'spf.relay.example, 192.0.2.0/24, 2001:db8::1',
    });
    expect(c.secretsKeyHex).toBe(key.toString('hex'));
    expect(loadConfig({ SECRETS_KEY: key.toString('hex') }).secretsKeyHex).toBe(key.toString('hex'));
    expect(c.dns.servers).toEqual(['127.0.0.1:5353', '10.0.0.2', '[::1]:53', '::1']);
    expect(c.domains.spfMechanisms).toEqual([
      'include:spf.relay.example',
      'ip4:192.0.2.0/24',
      'ip6:2001:db8::1',
    ]);
    expect(loadConfig({}).secretsKeyHex).toBeNull();
    expect(loadConfig({}).dns.servers).toEqual([]);
  });

  it('refuses a short SECRETS_KEY without echoing it, and DNS servers that are not addresses', () => {
    let err: unknown;
    try {
      loadConfig({
        SECRETS_KEY: 'hunter2-is-not-a-key',
        DNS_SERVERS: 'dns.example:53',
        SPF_INCLUDE: 'not valid!',
      });
    } catch (e) {
      err = e;
    }
    const message = (err as Error).message;
    expect(message).toContain('SECRETS_KEY');
    expect(message).not.toContain('hunter2');
    expect(message).toContain('DNS_SERVERS');
    expect(message).toContain('SPF_INCLUDE');
  });

  it('reads the HTTP providers, attachment and inbox settings, and names what is missing', () => {
    const c = loadConfig({
      SENDGRID_API_KEY: 'SG.x',
      SENDGRID_API_URL: 'http://127.0.0.1:9/',
      SES_REGION: 'eu-west-1',
      DEFAULT_PROVIDER: 'sendgrid',
      ATTACHMENTS_MAX_BYTES: '2048',
    });
    expect(c.httpProviders.sendgrid).toEqual({ apiKey: 'SG.x', apiUrl: 'http://127.0.0.1:9' });
    expect(c.httpProviders.postmark.apiUrl).toBe('https://api.postmarkapp.com');
    expect(c.attachments).toEqual({ maxBytes: 2048, retentionDays: 7 });
    expect(c.inbox.maxMessages).toBe(1000);
    expect(configuredProviders(c)).toEqual(['smtp', 'mock', 'inbox', 'ses', 'sendgrid']);

    let err: unknown;
    try {
      loadConfig({ DEFAULT_PROVIDER: 'postmark', MAILGUN_API_KEY: 'k', RESEND_API_URL: 'ftp://x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).message;
    expect(text).toContain('MAILGUN_API_KEY and MAILGUN_DOMAIN must be set together');
    expect(text).toContain('DEFAULT_PROVIDER "postmark" is not configured');
    expect(text).toContain('RESEND_API_URL');
  });

  it('keeps outbound webhooks to public https addresses unless told, on the Svix-like schedule', () => {
    const c = loadConfig({});
    expect(c.outboundWebhooks).toEqual({
      allowPrivate: false,
      timeoutMs: 10_000,
      retryScheduleSeconds: [0, 5, 300, 1800, 7200, 18_000, 36_000, 36_000],
      relayIntervalMs: 1000,
      retentionDays: 30,
    });
    expect(c.worker.queues).toContain('webhooks');
    expect(loadConfig({ OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true' }).outboundWebhooks.allowPrivate).toBe(true);
    expect(() => loadConfig({ OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '0,soon' })).toThrow(
      /OUTBOUND_WEBHOOKS_RETRY_SCHEDULE must list seconds/,
    );
    expect(() => loadConfig({ OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'perhaps' })).toThrow(
      /OUTBOUND_WEBHOOKS_ALLOW_PRIVATE/,
    );
  });
});
