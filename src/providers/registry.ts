import type { HttpProvidersConfig, SmtpConfig } from '../config/config.js';
import type { EmailProvider } from './email-provider.js';
import { InboxProvider, type InboxStore } from './inbox/inbox.provider.js';
import { MailgunProvider } from './mailgun/mailgun.provider.js';
import { MockProvider } from './mock/mock.provider.js';
import { PostmarkProvider } from './postmark/postmark.provider.js';
import { ResendProvider } from './resend/resend.provider.js';
import { SendGridProvider } from './sendgrid/sendgrid.provider.js';
import { SesProvider } from './ses/ses.provider.js';
import { SmtpProvider } from './smtp/smtp.provider.js';

export interface ProviderRegistry {
  get(name: string): EmailProvider | undefined;
  readonly defaultName: string;
  names(): string[];
  /** Closes every provider that was created; safe to call twice. */
  closeAll(): Promise<void>;
}

export interface ProviderRegistryOptions {
  defaultProvider: string;
  smtp: SmtpConfig;
  /** HTTP providers: each one whose credentials are set is registered under its name. */
  http?: HttpProvidersConfig;
  /** Where the `inbox` provider keeps captured messages (test-mode keys); absent: no inbox. */
  inbox?: InboxStore;
  /** Added after the built-ins, replacing one with the same name (tests, HTTP providers). */
  extra?: EmailProvider[];
}

/**
 * Built-ins are created on first get(), so a process that never sends (the API, migrations)
 * opens no SMTP connection and a misconfigured relay only matters where mail goes out.
 */
export function createProviderRegistry(opts: ProviderRegistryOptions): ProviderRegistry {
  const factories = new Map<string, () => EmailProvider>([
    ['smtp', () => new SmtpProvider(opts.smtp)],
    ['mock', () => new MockProvider()],
    ...httpFactories(opts.http),
  ]);
  const inbox = opts.inbox;
  if (inbox) factories.set('inbox', () => new InboxProvider(inbox));
  const instances = new Map<string, EmailProvider>();
  for (const provider of opts.extra ?? []) {
    factories.set(provider.name, () => provider);
    instances.set(provider.name, provider);
  }
  if (!factories.has(opts.defaultProvider)) {
    throw new Error(
      `Default provider "${opts.defaultProvider}" is not registered (have: ${[...factories.keys()].join(', ')})`,
    );
  }
  let closing: Promise<void> | undefined;

  return {
    defaultName: opts.defaultProvider,
    get(name) {
      const existing = instances.get(name);
      if (existing) return existing;
      const factory = factories.get(name);
      if (!factory) return undefined;
      const created = factory();
      instances.set(name, created);
      return created;
    },
    names: () => [...factories.keys()],
    closeAll() {
      closing ??= (async () => {
        const results = await Promise.allSettled([...instances.values()].map((p) => p.close()));
        const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
        if (errors.length > 0) throw new AggregateError(errors, 'Some email providers failed to close');
      })();
      return closing;
    },
  };
}

/** A factory per HTTP provider whose credentials are configured. */
function httpFactories(http: HttpProvidersConfig | undefined): [string, () => EmailProvider][] {
  if (!http) return [];
  const out: [string, () => EmailProvider][] = [];
  const { timeoutMs } = http;
  const { ses, sendgrid, postmark, mailgun, resend } = http;
  if (ses.region) {
    const region = ses.region;
    out.push([
      'ses',
      () =>
        new SesProvider({
          region,
          endpoint: ses.endpoint,
          configurationSet: ses.configurationSet,
          timeoutMs,
        }),
    ]);
  }
  if (sendgrid.apiKey) {
    const apiKey = sendgrid.apiKey;
    out.push(['sendgrid', () => new SendGridProvider({ apiKey, apiUrl: sendgrid.apiUrl, timeoutMs })]);
  }
  if (postmark.serverToken) {
    const serverToken = postmark.serverToken;
    out.push([
      'postmark',
      () =>
        new PostmarkProvider({
          serverToken,
          apiUrl: postmark.apiUrl,
          messageStream: postmark.messageStream,
          timeoutMs,
        }),
    ]);
  }
  if (mailgun.apiKey && mailgun.domain) {
    const { apiKey, domain } = mailgun;
    out.push(['mailgun', () => new MailgunProvider({ apiKey, domain, apiUrl: mailgun.apiUrl, timeoutMs })]);
  }
  if (resend.apiKey) {
    const apiKey = resend.apiKey;
    out.push(['resend', () => new ResendProvider({ apiKey, apiUrl: resend.apiUrl, timeoutMs })]);
  }
  return out;
}
