import { mailgunWebhookVerifier } from './mailgun/webhook.js';
import { postmarkWebhookVerifier } from './postmark/webhook.js';
import { resendWebhookVerifier } from './resend/webhook.js';
import { sendgridPublicKey, sendgridWebhookVerifier } from './sendgrid/webhook.js';
import { fetchHttpGet, type HttpGet } from './ses/sns.js';
import { sesWebhookVerifier } from './ses/webhook.js';
import { standardWebhooksKey } from './standard-webhooks/signature.js';
import { standardWebhooksVerifier } from './standard-webhooks/webhook.js';
import { type ReplayGuard, unauthorized, type WebhookVerifier } from './webhook-verifier.js';

export interface WebhookVerifierOptions {
  /** `WEBHOOK_SECRET_<PROVIDER>` by lower-case provider name. */
  secrets: Readonly<Record<string, string>>;
  /** `SES_SNS_TOPIC_ARNS`. */
  sesTopicArns: readonly string[];
  replayGuard: ReplayGuard;
  /** Certificate fetches and SNS subscription confirmations; the network by default. */
  httpGet?: HttpGet;
  now?: () => number;
}

export type WebhookVerifiers = ReadonlyMap<string, WebhookVerifier>;

/** Every provider whose webhooks Mailsystem understands; any other name answers 404. */
export const WEBHOOK_PROVIDERS = [
  'smtp',
  'mock',
  'ses',
  'sendgrid',
  'mailgun',
  'postmark',
  'resend',
] as const;

/** Never accepts anything: a provider without a usable secret is not open, it is closed. */
const refuseAll = (provider: string, reason: string): WebhookVerifier => ({
  provider,
  receive: async () => unauthorized(reason),
});

/** A map from provider name to its verifier, built once from the configuration. */
export function createWebhookVerifiers(opts: WebhookVerifierOptions): WebhookVerifiers {
  const now = opts.now ?? Date.now;
  const build = (name: (typeof WEBHOOK_PROVIDERS)[number]): WebhookVerifier => {
    const variable = `WEBHOOK_SECRET_${name.toUpperCase()}`;
    if (name === 'ses') {
      return sesWebhookVerifier({ topicArns: opts.sesTopicArns, httpGet: opts.httpGet ?? fetchHttpGet, now });
    }
    const secret = opts.secrets[name];
    if (secret === undefined) return refuseAll(name, `${variable} is not set`);
    switch (name) {
      case 'sendgrid': {
        const key = sendgridPublicKey(secret);
        return key
          ? sendgridWebhookVerifier(key, now)
          : refuseAll(name, `${variable} is not a P-256 public key`);
      }
      case 'mailgun':
        return mailgunWebhookVerifier(secret, opts.replayGuard, now);
      case 'postmark':
        return postmarkWebhookVerifier(secret);
      default: {
        const key = standardWebhooksKey(secret);
        if (!key) return refuseAll(name, `${variable} is not a usable secret`);
        return name === 'resend' ? resendWebhookVerifier(key, now) : standardWebhooksVerifier(name, key, now);
      }
    }
  };
  return new Map(WEBHOOK_PROVIDERS.map((name) => [name, build(name)]));
}
