import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';
import { emailIdOf } from '../http-provider.js';
import { buildMime } from '../mime.js';

export interface SesOptions {
  region: string;
  /** SES_ENDPOINT: another endpoint than the region's (a local double, a VPC endpoint). */
  endpoint: string | null;
  configurationSet: string | null;
  timeoutMs: number;
  /** Credentials; absent: the AWS default chain (environment, shared files, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Amazon SES v2 `SendEmail` with raw content, through `@aws-sdk/client-sesv2`: we build the MIME
 * (nodemailer's composer, the same as SMTP) so our headers, Message-ID and DKIM signature are what
 * SES sends. SES answers `{MessageId}`; its event notifications carry that id as `mail.messageId`
 * and our `email_id` message tag.
 */
/**
 * The AWS SDK is loaded on the first SES send, not at start: it is about 20 MB of a process's
 * memory, which a process that never sends through SES (the API, a worker without SES) keeps.
 */
type SesSdk = typeof import('@aws-sdk/client-sesv2');
let sdk: SesSdk | null = null;
const loadSdk = async (): Promise<SesSdk> => {
  sdk ??= await import('@aws-sdk/client-sesv2');
  return sdk;
};

export class SesProvider implements EmailProvider {
  readonly name = 'ses';
  readonly takesMime = true;
  #client: SESv2Client | null = null;

  constructor(private readonly opts: SesOptions) {}

  async #sdkClient(): Promise<{ client: SESv2Client; SendEmailCommand: SesSdk['SendEmailCommand'] }> {
    const { SESv2Client, SendEmailCommand } = await loadSdk();
    this.#client ??= new SESv2Client({
      region: this.opts.region,
      ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
      ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
      // Retries belong to the caller (the EmailProvider contract): one attempt per send().
      maxAttempts: 1,
      requestHandler: { requestTimeout: this.opts.timeoutMs, connectionTimeout: this.opts.timeoutMs },
    });
    return { client: this.#client, SendEmailCommand };
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const emailId = emailIdOf(message.messageId);
    try {
      const { client, SendEmailCommand } = await this.#sdkClient();
      const out = await client.send(
        new SendEmailCommand({
          Content: { Raw: { Data: new Uint8Array(await buildMime(message)) } },
          Destination: { ToAddresses: [message.to.email] },
          ...(emailId ? { EmailTags: [{ Name: 'email_id', Value: emailId }] } : {}),
          ...(this.opts.configurationSet ? { ConfigurationSetName: this.opts.configurationSet } : {}),
        }),
      );
      if (!out.MessageId) return { kind: 'unavailable', error: 'SES answered without a MessageId' };
      return { kind: 'sent', providerMessageId: out.MessageId, response: `SES MessageId ${out.MessageId}` };
    } catch (err) {
      return sesOutcome(err);
    }
  }

  async close(): Promise<void> {
    this.#client?.destroy();
    this.#client = null;
  }
}

/** SES errors that are the account's or the service's trouble, not this message's. */
const ACCOUNT_ERRORS = new Set([
  'AccountSuspendedException',
  'SendingPausedException',
  'TooManyRequestsException',
  'LimitExceededException',
  'ThrottlingException',
  'InternalServiceErrorException',
  'ServiceUnavailable',
  'NotFoundException', // the configuration set is gone: fix the setting, keep the mail
]);

/** MessageRejected, MailFromDomainNotVerified, BadRequest: this message cannot go as it is. */
export function sesOutcome(err: unknown): SendOutcome {
  // The SDK is loaded once a send has reached it; an error from before (loading it) is no answer.
  if (sdk && err instanceof sdk.SESv2ServiceException) {
    const error = `SES ${err.name}: ${err.message}`.slice(0, 1000);
    const status = err.$metadata.httpStatusCode ?? 0;
    if (ACCOUNT_ERRORS.has(err.name) || status >= 500 || status === 429 || status === 403) {
      return { kind: 'unavailable', error, code: err.name };
    }
    return { kind: 'permanent', error, code: err.name };
  }
  const e = err as { name?: string; message?: string; code?: string };
  // No answer at all (refused, DNS, TLS, timeout) or an answer the SDK could not read.
  return {
    kind: 'unavailable',
    error: `SES request failed: ${e.message ?? String(err)}`.slice(0, 1000),
    ...(e.code ? { code: e.code } : e.name ? { code: e.name } : {}),
  };
}
