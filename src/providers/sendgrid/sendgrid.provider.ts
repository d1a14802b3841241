import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';
import {
  defaultHttpOutcome,
  describeBody,
  emailIdOf,
  type HttpAnswer,
  isAnswer,
  parseMailbox,
  post,
} from '../http-provider.js';

export interface SendGridOptions {
  apiKey: string;
  /** https://api.sendgrid.com by default; a local double in tests. */
  apiUrl: string;
  timeoutMs: number;
}

/**
 * SendGrid v3 Mail Send (`POST /v3/mail/send`, `Authorization: Bearer <key>`), with plain fetch:
 * the official client adds nothing but a wrapper around this one request. SendGrid answers 202
 * with an empty body and the message id in `X-Message-Id`; its event webhook names that id (with a
 * per-recipient suffix) and our `email_id` custom argument.
 */
export class SendGridProvider implements EmailProvider {
  readonly name = 'sendgrid';
  constructor(private readonly opts: SendGridOptions) {}

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const emailId = emailIdOf(message.messageId);
    const body = {
      personalizations: [
        {
          to: [{ email: message.to.email, ...(message.to.name ? { name: message.to.name } : {}) }],
          ...(emailId ? { custom_args: { email_id: emailId } } : {}),
        },
      ],
      from: parseMailbox(message.from),
      ...(message.replyTo ? { reply_to: parseMailbox(message.replyTo) } : {}),
      subject: message.subject,
      // SendGrid requires text/plain first when both are given.
      content: [
        ...(message.text ? [{ type: 'text/plain', value: message.text }] : []),
        { type: 'text/html', value: message.html },
      ],
      headers: { ...message.headers, 'Message-ID': message.messageId },
      ...(message.attachments?.length
        ? {
            attachments: message.attachments.map((a) => ({
              content: a.content.toString('base64'),
              filename: a.filename,
              type: a.contentType,
              disposition: a.contentId ? 'inline' : 'attachment',
              ...(a.contentId ? { content_id: a.contentId } : {}),
            })),
          }
        : {}),
    };
    const answer = await post(
      `${this.opts.apiUrl}/v3/mail/send`,
      {
        headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      this.opts.timeoutMs,
    );
    if (!isAnswer(answer)) return answer;
    return sendGridOutcome(answer);
  }

  async close(): Promise<void> {}
}

/** 2xx → sent with X-Message-Id; errors `{errors: [{message, field, help}]}` by status. */
export function sendGridOutcome(answer: HttpAnswer): SendOutcome {
  if (answer.status >= 200 && answer.status < 300) {
    const id = answer.headers.get('x-message-id');
    if (id) return { kind: 'sent', providerMessageId: id, response: `${answer.status} X-Message-Id: ${id}` };
    return {
      kind: 'unavailable',
      error: `HTTP ${answer.status} without X-Message-Id`,
      code: 'no_message_id',
    };
  }
  const errors = (answer.body as { errors?: { message?: string; field?: string | null }[] })?.errors;
  const detail = Array.isArray(errors)
    ? errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ')
    : describeBody(answer.body);
  return defaultHttpOutcome(answer, detail);
}
