import { createHash } from 'node:crypto';
import type { AttachmentRef, AttachmentsRepository } from '../db/attachments.repository.js';
import { type AttachmentInput, checkAttachments } from '../domain/attachments.js';
import { AppError } from '../domain/errors.js';
import type { OutgoingAttachment } from '../providers/email-provider.js';

/** Attachments checked, hashed and ready to store with an email or a bulk job. */
export interface PreparedAttachments {
  refs: AttachmentRef[];
  files: { sha256: string; content: Buffer }[];
}

const NONE: PreparedAttachments = { refs: [], files: [] };

export function attachmentsService(deps: { repo: AttachmentsRepository; maxBytes: number }) {
  return {
    /**
     * Checks and decodes the request's attachments, before anything is stored: a malformed one is
     * a 400 naming each field, too many bytes a 413, an executable file type a 422.
     */
    prepare(inputs: readonly AttachmentInput[] | undefined, field = 'attachments'): PreparedAttachments {
      if (!inputs || inputs.length === 0) return NONE;
      const { attachments, problems } = checkAttachments(inputs, deps.maxBytes, field);
      const details = (kind: string) =>
        problems.filter((p) => p.kind === kind).map(({ field: f, message }) => ({ field: f, message }));
      if (problems.some((p) => p.kind === 'invalid')) {
        throw new AppError('validation_failed', undefined, details('invalid'));
      }
      if (problems.some((p) => p.kind === 'too_large')) {
        throw new AppError('attachments_too_large', undefined, details('too_large'));
      }
      if (problems.length > 0) throw new AppError('attachment_type_refused', undefined, details('forbidden'));

      const files = new Map<string, Buffer>();
      const refs = attachments.map((a, position): AttachmentRef => {
        const sha256 = createHash('sha256').update(a.content).digest('hex');
        files.set(sha256, a.content);
        return {
          position,
          filename: a.filename,
          content_type: a.contentType,
          content_id: a.contentId,
          sha256,
          size: a.content.length,
        };
      });
      return { refs, files: [...files].map(([sha256, content]) => ({ sha256, content })) };
    },

    /** What the idempotency fingerprint covers: names, types, ids and content hashes. */
    fingerprintOf(prepared: PreparedAttachments) {
      return prepared.refs.map(({ filename, content_type, content_id, sha256 }) => ({
        filename,
        content_type,
        content_id,
        sha256,
      }));
    },

    /** Stores the files' content (once per tenant and hash) before the rows that refer to them. */
    store: (tenantId: string, prepared: PreparedAttachments) =>
      deps.repo.storeContents(tenantId, prepared.files),

    /** Names, types, sizes and hashes for the lookup API (never the content). */
    list: (tenantId: string, emailId: string) => deps.repo.list(tenantId, emailId),

    /**
     * The email's files for delivery. A file whose content retention already removed cannot be
     * sent as the tenant asked: the caller fails the email rather than send it without the file.
     */
    async forDelivery(
      tenantId: string,
      emailId: string,
    ): Promise<{ attachments: OutgoingAttachment[]; missing: string[] }> {
      const rows = await deps.repo.forDelivery(tenantId, emailId);
      const missing = rows.filter((r) => r.content === null).map((r) => r.filename);
      const attachments = rows.flatMap((r) =>
        r.content === null
          ? []
          : [
              {
                filename: r.filename,
                contentType: r.content_type,
                content: r.content,
                ...(r.content_id ? { contentId: r.content_id } : {}),
              },
            ],
      );
      return { attachments, missing };
    },

    purge: (retentionDays: number) => deps.repo.purge(retentionDays),
  };
}
export type AttachmentsService = ReturnType<typeof attachmentsService>;
