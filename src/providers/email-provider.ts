import type { KeyObject } from 'node:crypto';

/**
 * EmailProvider — the port every delivery transport implements.
 *
 * Contract:
 * - `send()` hands ONE fully rendered message to the transport and resolves with an outcome; it
 *   never throws for a delivery problem. Trouble with the provider itself (connection refused or
 *   reset, DNS, TLS, timeouts, SMTP 421, HTTP 5xx/503, account-wide throttling) is `unavailable`
 *   (no attempt of the message is spent; it feeds the provider's circuit breaker); an SMTP 4xx to
 *   this message or recipient and HTTP 408/429 for it are `transient` (worth retrying later); SMTP
 *   5xx verdicts on the message, HTTP 4xx about the payload and addresses the transport refuses
 *   are `permanent`. Each provider's mapping is in docs/providers.md. Only programming errors may
 *   throw.
 * - The message's `messageId` is set by the caller and must be sent as the `Message-ID` header
 *   unchanged; `providerMessageId` in the outcome is the transport's own id for the message
 *   (for SMTP, the queue id from the server's 250 reply when it gives one, else the Message-ID).
 * - A `sent` outcome means the transport accepted responsibility for the message. The provider does
 *   not retry on its own: retries, backoff and dead-lettering belong to the caller.
 * - Headers in `headers` were validated by the caller (no CR/LF/NUL, no reserved names); the
 *   provider adds them verbatim.
 * - Implementations may pool connections; `close()` releases them and is safe to call twice.
 * Not promised: delivery to the mailbox (that arrives later through webhooks), ordering between
 * messages, or rate limiting (the caller paces sends per provider).
 */
export interface OutgoingMessage {
  /** RFC 5322 Message-ID including angle brackets, e.g. `<uuid@mailsystem.local>`. */
  messageId: string;
  from: string;
  to: { email: string; name?: string | null };
  subject: string;
  html: string;
  text: string;
  /** Extra header lines (custom headers, List-Unsubscribe, …) by name. */
  headers: Record<string, string>;
  /** The Reply-To header, checked like `from`. */
  replyTo?: string;
  /**
   * Sign with this DKIM key (relaxed/relaxed, rsa-sha256) for `domainName`; a transport that
   * cannot sign must not send the message unsigned.
   */
  dkim?: { domainName: string; keySelector: string; privateKey: KeyObject };
  /** The envelope sender (SMTP MAIL FROM, where bounces go) when it is not the From address. */
  envelopeFrom?: string;
  /** Files to attach, in order, delivered byte for byte; one with `contentId` is inline (`cid:`). */
  attachments?: OutgoingAttachment[];
  /**
   * The whole message as `buildMime` builds it from the fields above (DKIM-signed when `dkim` is
   * given), when the caller built it already (delivery builds it in a render thread for a
   * provider that takes MIME). A provider sends these bytes instead of building them again.
   */
  raw?: Buffer;
}

export interface OutgoingAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  /** The Content-ID without angle brackets; the HTML refers to it as `cid:<contentId>`. */
  contentId?: string;
}

export type SendOutcome =
  | { kind: 'sent'; providerMessageId: string; response?: string }
  /** Trouble with this message (an SMTP 4xx to this recipient or message, HTTP 429 for it). */
  | { kind: 'transient'; error: string; code?: string; retryAfterMs?: number }
  /**
   * Trouble with the provider, not the message (connection refused or reset, DNS or TLS failure,
   * timeout before the greeting, SMTP 421, HTTP 5xx/503, account-wide rate limiting): the caller
   * spends no attempt of the message's budget on it and may stop sending to the provider a while.
   */
  | { kind: 'unavailable'; error: string; code?: string; retryAfterMs?: number }
  | { kind: 'permanent'; error: string; code?: string };

export interface EmailProvider {
  readonly name: string;
  /**
   * The transport takes the whole message as MIME (SMTP, raw-MIME APIs): a caller may build it
   * beforehand, off its event loop, and hand it over in `message.raw`.
   */
  readonly takesMime?: boolean;
  send(message: OutgoingMessage): Promise<SendOutcome>;
  close(): Promise<void>;
}
