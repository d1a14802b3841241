import { createTransport, type Mail } from 'nodemailer';
import type { SMTPPoolOptions, SMTPPoolSentMessageInfo } from 'nodemailer/lib/smtp-pool';
import type { SmtpConfig } from '../../config/config.js';
import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';
import { toMailOptions } from '../mime.js';
import { classifySmtpError } from './classify.js';

export interface SmtpProviderOptions {
  /** Receives transport-level errors that belong to no send (nodemailer emits few, but some). */
  logger?: { warn(obj: object, msg?: string): void };
}

/**
 * Pooled SMTP delivery through one relay. With `host: null` (no relay configured) it talks to
 * 127.0.0.1 on the configured port, which is where `npm start` runs the local capture server.
 */
export class SmtpProvider implements EmailProvider {
  readonly name = 'smtp';
  readonly takesMime = true;
  readonly #transport: Mail<SMTPPoolSentMessageInfo, SMTPPoolOptions>;
  readonly #inFlight = new Set<Promise<SendOutcome>>();
  #closing: Promise<void> | undefined;

  constructor(config: SmtpConfig, options: SmtpProviderOptions = {}) {
    this.#transport = createTransport({
      pool: true,
      host: config.host ?? '127.0.0.1',
      port: config.port,
      secure: config.secure,
      ...(config.user ? { auth: { user: config.user, pass: config.password ?? '' } } : {}),
      maxConnections: config.poolSize,
      // Recycle a connection now and then: some relays cap messages per session, and a fresh
      // session costs one handshake per thousand messages.
      maxMessages: 1000,
      connectionTimeout: config.timeoutMs,
      greetingTimeout: config.timeoutMs,
      socketTimeout: config.timeoutMs,
      dnsTimeout: config.timeoutMs,
      // Message content comes from tenants' templates: it must never make the worker read a
      // local file or fetch a URL. nodemailer forces these transport options onto every message.
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
    });
    this.#transport.on('error', (err: Error) => {
      // An unhandled 'error' event would crash the process; per-send errors arrive via sendMail.
      options.logger?.warn(
        { err: { message: err.message, code: (err as { code?: unknown }).code } },
        'smtp transport error',
      );
    });
  }

  send(message: OutgoingMessage): Promise<SendOutcome> {
    const p = this.#send(message);
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
    return p;
  }

  async #send(message: OutgoingMessage): Promise<SendOutcome> {
    try {
      // nodemailer signs relaxed/relaxed over the headers receivers expect (From, To, Subject,
      // Date, Message-ID, Reply-To, List-Unsubscribe and List-Unsubscribe-Post among them).
      const options = toMailOptions(message);
      const info = await this.#transport.sendMail(
        message.raw
          ? // Built already (and signed) by the caller: the bytes go out as they are, with the
            // envelope the same options give (From and To, or the envelope sender).
            {
              raw: message.raw,
              messageId: options.messageId,
              from: options.from,
              to: options.to,
              ...(options.envelope ? { envelope: options.envelope } : {}),
            }
          : options,
      );
      const response = typeof info.response === 'string' ? info.response : undefined;
      return {
        kind: 'sent',
        providerMessageId: parseQueueId(response) ?? stripAngleBrackets(message.messageId),
        ...(response === undefined ? {} : { response }),
      };
    } catch (err) {
      return classifySmtpError(err);
    }
  }

  /**
   * Stops taking messages, lets deliveries already on a connection finish (queued ones fail as
   * unavailable, spending no attempt) and resolves once every send() has settled.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#transport.close();
      await Promise.allSettled([...this.#inFlight]);
    })();
    return this.#closing;
  }
}

/**
 * The relay's queue id from its final 250 reply, when it names one:
 * "250 2.0.0 Ok: queued as ABC123" (Postfix, smtp-server) → "ABC123",
 * "250 OK id=1abc-000123-XY" (Exim) → "1abc-000123-XY".
 */
export function parseQueueId(response: string | undefined): string | undefined {
  if (!response) return undefined;
  const m =
    /\bqueued as:?\s+<?([^\s<>;,]+?)>?(?=[\s;,]|$)/i.exec(response) ??
    /\bid=<?([^\s<>;,]+)>?/i.exec(response);
  return m?.[1] || undefined;
}

const stripAngleBrackets = (id: string): string => id.trim().replace(/^<|>$/g, '');
