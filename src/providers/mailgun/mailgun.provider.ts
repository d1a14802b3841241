import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';
import {
  defaultHttpOutcome,
  describeBody,
  emailIdOf,
  type HttpAnswer,
  isAnswer,
  post,
} from '../http-provider.js';
import { buildMime } from '../mime.js';

export interface MailgunOptions {
  apiKey: string;
  domain: string;
  /** https://api.mailgun.net (US) by default; https://api.eu.mailgun.net for the EU region. */
  apiUrl: string;
  timeoutMs: number;
}

/**
 * Mailgun `POST /v3/<domain>/messages.mime` (HTTP basic auth `api:<key>`, multipart form with
 * `to` and the whole MIME message as `message`), with plain fetch and FormData. Sending our own
 * MIME keeps our headers, Message-ID and DKIM signature. Mailgun answers `{id: "<…>", message}`;
 * its webhooks carry the Message-ID header and our `email_id` user variable (`v:email_id`).
 */
export class MailgunProvider implements EmailProvider {
  readonly name = 'mailgun';
  readonly takesMime = true;
  constructor(private readonly opts: MailgunOptions) {}

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const mime = await buildMime(message);
    const form = new FormData();
    form.append('to', message.to.email);
    form.append('message', new Blob([new Uint8Array(mime)], { type: 'message/rfc822' }), 'message.eml');
    const emailId = emailIdOf(message.messageId);
    if (emailId) form.append('v:email_id', emailId);
    const answer = await post(
      `${this.opts.apiUrl}/v3/${encodeURIComponent(this.opts.domain)}/messages.mime`,
      {
        headers: { authorization: `Basic ${Buffer.from(`api:${this.opts.apiKey}`).toString('base64')}` },
        body: form,
      },
      this.opts.timeoutMs,
    );
    if (!isAnswer(answer)) return answer;
    return mailgunOutcome(answer);
  }

  async close(): Promise<void> {}
}

/** 200 `{id, message}` → sent (the id without brackets, as webhooks name it); errors `{message}`. */
export function mailgunOutcome(answer: HttpAnswer): SendOutcome {
  const b = (answer.body ?? {}) as { id?: string; message?: string };
  if (answer.status === 200 && b.id) {
    const id = b.id.trim().replace(/^<|>$/g, '');
    return { kind: 'sent', providerMessageId: id, response: `200 ${b.message ?? ''}`.trim() };
  }
  // 402: the account's plan or payment; 404: the sending domain is not on this account.
  if (answer.status === 402 || answer.status === 404) {
    return {
      kind: 'unavailable',
      error: `HTTP ${answer.status}: ${b.message ?? describeBody(answer.body)}`,
      code: String(answer.status),
    };
  }
  return defaultHttpOutcome(answer, b.message ?? describeBody(answer.body));
}
