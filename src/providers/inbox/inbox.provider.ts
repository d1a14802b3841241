import type { EmailProvider, OutgoingMessage, SendOutcome } from '../email-provider.js';
import { emailIdOf } from '../http-provider.js';
import { buildMime } from '../mime.js';

/** Keeps one captured message; resolves to its inbox id, or null when the email is unknown. */
export type InboxStore = (capture: {
  emailId: string;
  messageId: string;
  from: string;
  to: string;
  subject: string;
  raw: Buffer;
}) => Promise<string | null>;

/**
 * The inbox "provider": builds the message exactly as SMTP would send it (DKIM signature
 * included) and keeps it in the tenant's inbox instead of handing it to anyone. Test-mode keys
 * always deliver here; an installation may also make it its default provider.
 */
export class InboxProvider implements EmailProvider {
  readonly name = 'inbox';
  readonly takesMime = true;
  constructor(private readonly store: InboxStore) {}

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    const emailId = emailIdOf(message.messageId);
    if (!emailId) return { kind: 'permanent', error: 'the inbox keeps only messages of stored emails' };
    const raw = await buildMime(message);
    const id = await this.store({
      emailId,
      messageId: message.messageId,
      from: message.from,
      to: message.to.email,
      subject: message.subject,
      raw,
    });
    if (!id) return { kind: 'permanent', error: 'the email is not stored' };
    return { kind: 'sent', providerMessageId: id, response: `captured in the inbox as ${id}` };
  }

  async close(): Promise<void> {}
}
