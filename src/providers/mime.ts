import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { Attachment, Options } from 'nodemailer/lib/mailer/index.js';
import type { OutgoingAttachment, OutgoingMessage } from './email-provider.js';

/**
 * One attachment as nodemailer takes it: a Buffer (never a path or URL — tenant input must not make
 * a worker read a file or fetch anything), base64 on the wire so the bytes arrive unchanged, and a
 * Content-ID for inline images.
 */
export function toMailAttachment(a: OutgoingAttachment): Attachment {
  return {
    filename: a.filename,
    content: a.content,
    contentType: a.contentType,
    contentTransferEncoding: 'base64',
    ...(a.contentId ? { cid: a.contentId, contentDisposition: 'inline' as const } : {}),
  };
}

/** The message as nodemailer options, exactly as the SMTP provider sends it. */
export function toMailOptions(message: OutgoingMessage): Options {
  const spelling = new Map(Object.keys(message.headers).map((k) => [k.toLowerCase(), k]));
  return {
    messageId: message.messageId,
    from: message.from,
    to: { name: message.to.name ?? '', address: message.to.email },
    subject: message.subject,
    html: message.html,
    text: message.text,
    headers: { ...message.headers },
    normalizeHeaderKey: (key: string) => spelling.get(key.toLowerCase()) ?? key,
    ...(message.replyTo ? { replyTo: message.replyTo } : {}),
    ...(message.dkim ? { dkim: message.dkim } : {}),
    ...(message.envelopeFrom ? { envelope: { from: message.envelopeFrom, to: message.to.email } } : {}),
    ...(message.attachments ? { attachments: message.attachments.map(toMailAttachment) } : {}),
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/**
 * The whole RFC 5322 message, DKIM-signed when the message carries a key — for providers that take
 * raw MIME (SES, Mailgun) and for the inbox, so our headers and signature are what leaves. A message
 * that carries its bytes already (`raw`) is not built again.
 */
export async function buildMime(message: OutgoingMessage): Promise<Buffer> {
  if (message.raw) return message.raw;
  const options = toMailOptions(message);
  const node = new MailComposer(options).compile();
  node.keepBcc = false;
  const raw = await node.build();
  if (!message.dkim) return raw;
  const { default: DKIM } = await import('nodemailer/lib/dkim/index.js');
  const signer = new DKIM({
    domainName: message.dkim.domainName,
    keySelector: message.dkim.keySelector,
    privateKey: message.dkim.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  });
  const chunks: Buffer[] = [];
  const stream = signer.sign(raw);
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
