import { decodeCursor, page } from '../db/cursor.js';
import type {
  SuppressionReason,
  SuppressionRow,
  SuppressionsRepository,
} from '../db/suppressions.repository.js';
import { isValidEmailAddress, normalizeEmailAddress } from '../domain/address.js';
import { AppError } from '../domain/errors.js';

export interface SuppressionView {
  email: string;
  reason: SuppressionReason;
  created_at: string;
}

const view = (r: SuppressionRow): SuppressionView => ({
  email: r.email,
  reason: r.reason,
  created_at: r.created_at.toISOString(),
});

/** The per-tenant list of addresses Mailsystem refuses to send to. */
export function suppressionsService(deps: { suppressions: SuppressionsRepository }) {
  return {
    async list(tenantId: string, limit: number, cursor: string | undefined) {
      const rows = await deps.suppressions.list(tenantId, limit, decodeCursor(cursor, 'text'));
      return page(rows, limit, (r) => r.email, view);
    },

    /** Another tenant's entry answers exactly like an absent one. */
    async get(tenantId: string, email: string): Promise<SuppressionView> {
      const row = await deps.suppressions.find(tenantId, normalizeEmailAddress(email));
      if (!row) throw new AppError('suppression_not_found');
      return view(row);
    },

    /** Idempotent: an address already on the list keeps its first reason and time. */
    async add(
      tenantId: string,
      email: string,
      reason: SuppressionReason = 'manual',
    ): Promise<{ created: boolean; suppression: SuppressionView }> {
      const address = normalizeEmailAddress(email);
      if (!isValidEmailAddress(address)) {
        throw new AppError('validation_failed', undefined, [
          { field: 'email', message: 'is not a valid email address' },
        ]);
      }
      const { row, created } = await deps.suppressions.add(tenantId, address, reason, { via: 'api' });
      return { created, suppression: view(row) };
    },

    /**
     * Removes an address, recorded. An unsubscribe or complaint was the recipient's choice: it is
     * removed only with `override` (409 otherwise), and the record marks it as overridden.
     */
    async remove(
      tenantId: string,
      email: string,
      opts: { override?: boolean; keyId?: string | null; note?: string | null } = {},
    ): Promise<void> {
      const outcome = await deps.suppressions.remove(tenantId, normalizeEmailAddress(email), {
        override: opts.override ?? false,
        keyId: opts.keyId ?? null,
        note: opts.note ?? null,
      });
      if (outcome === 'absent') throw new AppError('suppression_not_found');
      if (outcome === 'needs_override') throw new AppError('suppression_recipient_choice');
    },
  };
}
export type SuppressionsService = ReturnType<typeof suppressionsService>;
