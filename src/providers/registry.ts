import type { SmtpConfig } from '../config/config.js';
import type { EmailProvider } from './email-provider.js';
import { MockProvider } from './mock/mock.provider.js';
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
  ]);
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
