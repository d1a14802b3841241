import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';
import {
  defaultHttpOutcome,
  describeBody,
  emailIdOf,
  type HttpAnswer,
  isAnswer,
  mailbox,
  post,
  retryAfterMs,
} from '../http-provider.js';

export interface ResendOptions {
  apiKey: string;
  apiUrl: string;
  timeoutMs: number;
}

/**
 * Resend `POST /emails` (`Authorization: Bearer <key>`), with plain fetch. Resend answers
 * `{id}`; its webhooks carry that id as `email_id` and our `email_id` tag. Every attempt of one
 * email carries the same `Idempotency-Key` (our email id), so a resend after a crash between
 * Resend's answer and our commit is not sent twice.
 */
export class ResendProvider implements EmailProvider {
  readonly name = 'resend';
  constructor(private readonly opts: ResendOptions) {}

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const emailId = emailIdOf(message.messageId);
    const body = {
      from: message.from,
      to: [mailbox(message.to.email, message.to.name)],
      subject: message.subject,
      html: message.html,
      ...(message.text ? { text: message.text } : {}),
      ...(message.replyTo ? { reply_to: message.replyTo } : {}),
      headers: { ...message.headers, 'Message-ID': message.messageId },
      ...(emailId ? { tags: [{ name: 'email_id', value: emailId }] } : {}),
      ...(message.attachments?.length
        ? {
            attachments: message.attachments.map((a) => ({
              filename: a.filename,
              content: a.content.toString('base64'),
              content_type: a.contentType,
              ...(a.contentId ? { content_id: a.contentId } : {}),
            })),
          }
        : {}),
    };
    const answer = await post(
      `${this.opts.apiUrl}/emails`,
      {
        headers: {
          authorization: `Bearer ${this.opts.apiKey}`,
          'content-type': 'application/json',
          ...(emailId ? { 'idempotency-key': emailId } : {}),
        },
        body: JSON.stringify(body),
      },
      this.opts.timeoutMs,
    );
    if (!isAnswer(answer)) return answer;
    return resendOutcome(answer);
  }

  async close(): Promise<void> {}
}

/** Resend's error names (`{statusCode, name, message}`) that are the account's trouble. */
const ACCOUNT_ERRORS = new Set([
  'missing_api_key',
  'invalid_api_key',
  'restricted_api_key',
  'rate_limit_exceeded',
  'daily_quota_exceeded',
  'monthly_quota_exceeded',
  'application_error',
  'internal_server_error',
]);

export function resendOutcome(answer: HttpAnswer): SendOutcome {
  const b = (answer.body ?? {}) as { id?: string; name?: string; message?: string };
  if (answer.status >= 200 && answer.status < 300 && b.id) {
    return { kind: 'sent', providerMessageId: b.id, response: `${answer.status} id ${b.id}` };
  }
  if (typeof b.name === 'string') {
    const error = `Resend ${answer.status} ${b.name}: ${b.message ?? ''}`.slice(0, 1000);
    if (ACCOUNT_ERRORS.has(b.name)) {
      const after = retryAfterMs(answer.headers);
      return {
        kind: 'unavailable',
        error,
        code: b.name,
        ...(after === undefined ? {} : { retryAfterMs: after }),
      };
    }
    // Another request with the same idempotency key is in flight: ask again shortly.
    if (b.name === 'concurrent_idempotent_requests') return { kind: 'transient', error, code: b.name };
  }
  return defaultHttpOutcome(answer, describeBody(answer.body));
}
