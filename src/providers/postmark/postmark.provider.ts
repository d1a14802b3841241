import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';
import {
  defaultHttpOutcome,
  emailIdOf,
  type HttpAnswer,
  isAnswer,
  mailbox,
  post,
  retryAfterMs,
} from '../http-provider.js';

export interface PostmarkOptions {
  serverToken: string;
  apiUrl: string;
  /** The message stream (Postmark's default: "outbound"). */
  messageStream: string | null;
  timeoutMs: number;
}

/**
 * Postmark `POST /email` with the `X-Postmark-Server-Token` header, with plain fetch. Postmark
 * answers `{To, SubmittedAt, MessageID, ErrorCode: 0, Message: "OK"}`; its webhooks carry that
 * MessageID and our `email_id` metadata.
 */
export class PostmarkProvider implements EmailProvider {
  readonly name = 'postmark';
  constructor(private readonly opts: PostmarkOptions) {}

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const emailId = emailIdOf(message.messageId);
    const body = {
      From: message.from,
      To: mailbox(message.to.email, message.to.name),
      Subject: message.subject,
      HtmlBody: message.html,
      ...(message.text ? { TextBody: message.text } : {}),
      ...(message.replyTo ? { ReplyTo: message.replyTo } : {}),
      Headers: [
        { Name: 'Message-ID', Value: message.messageId },
        ...Object.entries(message.headers).map(([Name, Value]) => ({ Name, Value })),
      ],
      ...(emailId ? { Metadata: { email_id: emailId } } : {}),
      ...(this.opts.messageStream ? { MessageStream: this.opts.messageStream } : {}),
      ...(message.attachments?.length
        ? {
            Attachments: message.attachments.map((a) => ({
              Name: a.filename,
              Content: a.content.toString('base64'),
              ContentType: a.contentType,
              ...(a.contentId ? { ContentID: `cid:${a.contentId}` } : {}),
            })),
          }
        : {}),
    };
    const answer = await post(
      `${this.opts.apiUrl}/email`,
      {
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          'x-postmark-server-token': this.opts.serverToken,
        },
        body: JSON.stringify(body),
      },
      this.opts.timeoutMs,
    );
    if (!isAnswer(answer)) return answer;
    return postmarkOutcome(answer);
  }

  async close(): Promise<void> {}
}

/**
 * Postmark's API error codes (HTTP 422 with `ErrorCode`) that are the account's or the server's
 * trouble rather than the message's: bad token, maintenance, not allowed to send (no credits),
 * account pending, account may not send, rate limit.
 */
const ACCOUNT_CODES = new Set([10, 100, 405, 412, 413, 429]);

export function postmarkOutcome(answer: HttpAnswer): SendOutcome {
  const b = (answer.body ?? {}) as { MessageID?: string; ErrorCode?: number; Message?: string };
  if (answer.status === 200 && b.ErrorCode === 0 && b.MessageID) {
    return { kind: 'sent', providerMessageId: b.MessageID, response: `200 ${b.Message ?? 'OK'}` };
  }
  if (typeof b.ErrorCode === 'number' && b.ErrorCode !== 0) {
    const error = `Postmark ${b.ErrorCode}: ${b.Message ?? ''}`.slice(0, 1000);
    const code = String(b.ErrorCode);
    if (ACCOUNT_CODES.has(b.ErrorCode) || answer.status >= 500) {
      const after = retryAfterMs(answer.headers);
      return { kind: 'unavailable', error, code, ...(after === undefined ? {} : { retryAfterMs: after }) };
    }
    // 300 invalid request, 406 inactive recipient, 411 forbidden attachment, 400/401 sender
    // signature missing or unconfirmed: this message cannot go through Postmark as it is.
    return { kind: 'permanent', error, code };
  }
  return defaultHttpOutcome(answer, b.Message ?? JSON.stringify(answer.body).slice(0, 500));
}
