import type { EmailsRepository, NewEmail } from '../db/emails.repository.js';
import type { SuppressionsRepository } from '../db/suppressions.repository.js';
import type { TemplatesRepository } from '../db/templates.repository.js';
import { hasHeaderBreak, isValidEmailAddress, normalizeEmailAddress } from '../domain/address.js';
import type { AttachmentInput } from '../domain/attachments.js';
import { AppError } from '../domain/errors.js';
import { fingerprint } from '../lib/canonical-json.js';
import { newId } from '../lib/ids.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import type { TemplateEngine } from '../templates/renderer.port.js';
import type { AttachmentsService } from './attachments.service.js';
import { checkedForAcceptance } from './rendering.js';
import {
  activeTemplate,
  commonSendFields,
  type FieldProblem,
  trackingFingerprint,
} from './request-checks.js';
import { sendBatcher } from './send-batcher.js';
import {
  type SenderFields,
  type SendersService,
  senderFieldProblems,
  senderFingerprint,
} from './senders.service.js';

export interface SendRequest extends SenderFields {
  recipient: { email: string; name?: string | undefined };
  template_id: string;
  variables?: Record<string, unknown> | undefined;
  metadata?: Record<string, unknown> | undefined;
  idempotency_key?: string | undefined;
  send_at?: string | undefined;
  tags?: string[] | undefined;
  headers?: Record<string, string> | undefined;
  /** Adds List-Unsubscribe (one-click) to a transactional email, as bulk mail always has. */
  list_unsubscribe?: boolean | undefined;
  attachments?: AttachmentInput[] | undefined;
  /** Open/click tracking for this email; absent: the tenant's setting at delivery. */
  track_opens?: boolean | undefined;
  track_clicks?: boolean | undefined;
}

/** Who is sending, as the API key says: its mode and the tenant's provider. */
export interface SendContext {
  /** A test-mode key: the email goes to the inbox only, whatever the tenant's provider. */
  test?: boolean;
  /** The tenant's provider; absent: DEFAULT_PROVIDER. */
  provider?: string | null;
}

/** The provider an email is accepted for: the inbox for test mode, else the tenant's or the default. */
export const acceptedProvider = (ctx: SendContext, defaultProvider: string): string =>
  ctx.test ? 'inbox' : (ctx.provider ?? defaultProvider);

export interface SendResult {
  email_id: string;
  status: string;
  idempotency_reused: boolean;
}

/** Checks the recipient's header-bound values: 400 naming each bad field. */
export function recipientProblems(recipient: { email: string; name?: string | undefined }): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!isValidEmailAddress(recipient.email)) {
    problems.push({ field: 'recipient.email', message: 'is not a valid email address' });
  }
  if (recipient.name !== undefined && hasHeaderBreak(recipient.name)) {
    problems.push({ field: 'recipient.name', message: 'must not contain CR, LF or NUL' });
  }
  return problems;
}

export function sendService(deps: {
  emails: EmailsRepository;
  templates: TemplatesRepository;
  suppressions: SuppressionsRepository;
  renderer: TemplateEngine;
  dispatcher: Dispatcher;
  defaultProvider: string;
  messageIdDomain: string;
  /** Checks and resolves `from`/`reply_to`; absent: every email goes out as SMTP_FROM. */
  senders?: SendersService;
  /** Absent: requests with attachments are refused (an installation without the store). */
  attachments?: AttachmentsService;
  onDispatchError?: (e: unknown) => void;
}) {
  // Concurrent requests share their look-ups and their insert (send-batcher.ts).
  const batch = sendBatcher(deps);
  const templates = { getVersion: batch.template };
  return {
    /**
     * Accepts one email. Everything a client can get wrong is refused before anything is stored;
     * the row and its first event are committed before the caller answers 202; dispatching
     * afterwards is best effort (the recovery loop covers a lost dispatch).
     */
    async accept(
      tenantId: string,
      req: SendRequest,
      headerKey: string | undefined,
      ctx: SendContext = {},
    ): Promise<SendResult> {
      const problems = recipientProblems(req.recipient);
      const { idempotencyKey, sendAt } = commonSendFields(req, headerKey, problems);
      const givenSender = senderFieldProblems(req, problems);
      if (req.attachments?.length && !deps.attachments) {
        problems.push({ field: 'attachments', message: 'are not supported by this installation' });
      }
      if (problems.length > 0) throw new AppError('validation_failed', undefined, problems);
      const attachments = deps.attachments?.prepare(req.attachments);

      const recipientEmail = normalizeEmailAddress(req.recipient.email);
      // What "the same request" means: its content, not where the key came from.
      const requestFingerprint = idempotencyKey
        ? fingerprint({
            recipient: { email: recipientEmail, name: req.recipient.name ?? null },
            template_id: req.template_id,
            variables: req.variables ?? {},
            metadata: req.metadata ?? {},
            send_at: sendAt?.toISOString() ?? null,
            headers: req.headers ?? {},
            tags: req.tags ?? [],
            list_unsubscribe: req.list_unsubscribe ?? false,
            ...trackingFingerprint(req),
            ...senderFingerprint(req),
            // By hash: the same file under the same name is the same request, without hashing
            // megabytes of base64 twice. Absent when there are none, so older fingerprints hold.
            ...(attachments?.refs.length
              ? { attachments: deps.attachments?.fingerprintOf(attachments) }
              : {}),
            ...(ctx.test ? { test: true } : {}),
          })
        : null;

      if (idempotencyKey) {
        const existing = await deps.emails.findByIdempotencyKey(tenantId, idempotencyKey);
        if (existing) return reuse(existing, requestFingerprint);
      }

      // The look-ups at once (the tenant's sending defaults too, unless the request names both
      // sender fields); a template error still comes first.
      const suppression = batch.suppression(tenantId, recipientEmail);
      suppression.catch(() => {});
      const defaultsAhead =
        deps.senders && (givenSender.from === null || givenSender.reply_to === null)
          ? deps.senders.sendingDefaults(tenantId)
          : null;
      defaultsAhead?.catch(() => {});
      const template = await activeTemplate(templates, tenantId, req.template_id);
      const suppressed = await suppression;
      if (suppressed) {
        throw new AppError('recipient_suppressed', undefined, {
          email: recipientEmail,
          reason: suppressed.reason,
        });
      }

      const sender = deps.senders
        ? await deps.senders.forAcceptance(tenantId, givenSender, template, defaultsAhead)
        : null;

      const variables = req.variables ?? {};
      const rendered = await checkedForAcceptance(
        deps.renderer,
        { ...template, template_id: template.id },
        variables,
      );

      if (attachments?.files.length) await deps.attachments?.store(tenantId, attachments);
      const id = newId();
      const scheduled = sendAt !== null && sendAt.getTime() > Date.now();
      const email: NewEmail = {
        id,
        tenantId,
        templateId: template.id,
        templateVersion: template.version,
        recipientEmail,
        recipientName: req.recipient.name ?? null,
        variables,
        metadata: req.metadata ?? {},
        tags: req.tags ?? [],
        headers: req.headers ?? {},
        subject: rendered.subject,
        status: scheduled ? 'scheduled' : 'queued',
        idempotencyKey,
        fingerprint: requestFingerprint,
        sendAt,
        provider: acceptedProvider(ctx, deps.defaultProvider),
        messageId: `<${id}@${deps.messageIdDomain}>`,
        listUnsubscribe: req.list_unsubscribe ?? false,
        tracking: { opens: req.track_opens ?? null, clicks: req.track_clicks ?? null },
        sender,
        ...(attachments?.refs.length ? { attachments: attachments.refs } : {}),
        ...(ctx.test ? { test: true } : {}),
      };
      // Emails with files go alone (their references are inserted with them); the others share a
      // statement with the requests in flight. Either way the row and its event are committed, and
      // the job dispatched, before this answers.
      const { inserted, row } = email.attachments
        ? await deps.emails.insert(email).then(async (r) => {
            if (r.inserted) await batch.dispatchAccepted([email], [r]);
            return r;
          })
        : await batch.insert(email);
      if (!inserted) return reuse(row, requestFingerprint);
      return { email_id: id, status: row.status, idempotency_reused: false };
    },
  };
}
export type SendService = ReturnType<typeof sendService>;

function reuse(
  existing: { id: string; status: string; request_fingerprint: string | null },
  requestFingerprint: string | null,
): SendResult {
  if (existing.request_fingerprint !== requestFingerprint) {
    throw new AppError('idempotency_key_reused', undefined, { email_id: existing.id });
  }
  return { email_id: existing.id, status: existing.status, idempotency_reused: true };
}
