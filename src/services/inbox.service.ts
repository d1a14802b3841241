import type { simpleParser as SimpleParser } from 'mailparser';
import { decodeCursor, page } from '../db/cursor.js';
import type { InboxRepository, InboxRow } from '../db/inbox.repository.js';
import { AppError } from '../domain/errors.js';
import { isUuid, newId } from '../lib/ids.js';
import { emailIdOf } from '../providers/http-provider.js';

const summary = (r: InboxRow) => ({
  id: r.id,
  email_id: r.email_id,
  message_id: r.message_id,
  from: r.from_addr,
  to: r.to_addr,
  subject: r.subject,
  size: r.size,
  received_at: r.created_at.toISOString(),
});

/**
 * mailparser (with its dependencies, 15–20 MB of a process's memory) is loaded when the first
 * captured message is read, not at start: most processes never read one.
 */
let parser: typeof SimpleParser | null = null;
const simpleParser: typeof SimpleParser = (async (...args: Parameters<typeof SimpleParser>) => {
  parser ??= (await import('mailparser')).simpleParser;
  return parser(...args);
}) as typeof SimpleParser;

/** `Name: value` as sent (folded lines joined), from mailparser's raw header lines. */
function headerLine(line: string): { name: string; value: string } {
  const colon = line.indexOf(':');
  return {
    name: line.slice(0, colon),
    value: line
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim(),
  };
}

/**
 * The tenant's inbox: every message captured instead of delivered (test-mode keys, or the `inbox`
 * provider), as a developer would browse it in Mailpit.
 */
export function inboxService(deps: { inbox: InboxRepository }) {
  const find = async (tenantId: string, id: string) => {
    // Another tenant's id and a malformed one answer exactly like an unknown one.
    const row = isUuid(id) ? await deps.inbox.get(tenantId, id) : null;
    if (!row) throw new AppError('inbox_message_not_found');
    return row;
  };

  return {
    /** What the `inbox` provider stores through. */
    capture: (c: {
      emailId: string;
      messageId: string;
      from: string;
      to: string;
      subject: string;
      raw: Buffer;
    }) => deps.inbox.capture({ id: newId(), ...c }),

    /**
     * Keeps a message that arrived some other way (the local capture SMTP server of `npm start`)
     * in the inbox of the tenant whose email it is, found by our Message-ID. Messages that are not
     * ours are left alone; resolves to the inbox id or null.
     */
    async captureRaw(raw: Buffer, envelope: { from: string; to: string[] }): Promise<string | null> {
      const mail = await simpleParser(raw, {
        skipHtmlToText: true,
        skipTextToHtml: true,
        skipImageLinks: true,
      });
      const emailId = mail.messageId ? emailIdOf(mail.messageId) : null;
      if (!emailId || !mail.messageId) return null;
      return deps.inbox.capture({
        id: newId(),
        emailId,
        messageId: mail.messageId,
        from: mail.from?.text ?? envelope.from,
        to: envelope.to[0] ?? '',
        subject: mail.subject ?? '',
        raw,
      });
    },

    async list(tenantId: string, q: string | undefined, limit: number, cursor: string | undefined) {
      const rows = await deps.inbox.list(tenantId, q?.trim() || null, limit, decodeCursor(cursor));
      return page(rows, limit, (r) => r.id, summary);
    },

    async get(tenantId: string, id: string) {
      const row = await find(tenantId, id);
      const mail = await simpleParser(row.raw, { skipImageLinks: true, skipTextToHtml: true });
      return {
        ...summary(row),
        headers: mail.headerLines.map((h) => headerLine(h.line)),
        text: mail.text ?? null,
        html: typeof mail.html === 'string' ? mail.html : null,
        attachments: mail.attachments.map((a) => ({
          filename: a.filename ?? null,
          content_type: a.contentType,
          content_id: a.cid ?? null,
          size: a.size,
        })),
      };
    },

    raw: async (tenantId: string, id: string) => (await find(tenantId, id)).raw,

    async remove(tenantId: string, id: string) {
      if (!isUuid(id) || !(await deps.inbox.remove(tenantId, id)))
        throw new AppError('inbox_message_not_found');
    },

    trim: (maxPerTenant: number) => deps.inbox.trim(maxPerTenant),
  };
}
export type InboxService = ReturnType<typeof inboxService>;
