import type { KeyObject } from 'node:crypto';
import type { DomainsRepository, SendingDefaults } from '../db/domains.repository.js';
import { domainOf, formatMailbox, type Mailbox, type MailboxInput, parseMailbox } from '../domain/address.js';
import { AppError } from '../domain/errors.js';
import type { DkimKeys } from './dkim-keys.js';
import type { FieldProblem } from './request-checks.js';

/** Who an email is from, chosen at acceptance; null members fall back to SMTP_FROM / no Reply-To. */
export interface Sender {
  from: Mailbox | null;
  reply_to: Mailbox | null;
}

/** The sender fields a request may carry (/send, /send/bulk, templates, the tenant's defaults). */
export interface SenderFields {
  from?: MailboxInput | null | undefined;
  reply_to?: MailboxInput | null | undefined;
}

/** What a delivery needs to send as the chosen sender. */
export type DeliveryIdentity =
  | {
      kind: 'ok';
      from: string;
      replyTo?: string;
      dkim?: { domainName: string; keySelector: string; privateKey: KeyObject };
      envelopeFrom?: string;
    }
  | { kind: 'unverified'; error: string };

/**
 * Parses `from` and `reply_to` (a 400 for each malformed one, appended to `problems`, named with
 * `prefix`). Returns the mailboxes given (null where absent or null).
 */
export function senderFieldProblems(
  req: SenderFields,
  problems: FieldProblem[],
  prefix = '',
): { from: Mailbox | null; reply_to: Mailbox | null } {
  const one = (field: 'from' | 'reply_to'): Mailbox | null => {
    const v = req[field];
    if (v === undefined || v === null) return null;
    const r = parseMailbox(v);
    if (r.ok) return r.mailbox;
    problems.push({ field: `${prefix}${field}`, message: r.problem });
    return null;
  };
  return { from: one('from'), reply_to: one('reply_to') };
}

/** The sender fields as they enter an idempotency fingerprint: absent when not given, so that
 * requests without them keep the fingerprint they always had. */
export const senderFingerprint = (req: SenderFields): Record<string, unknown> => ({
  ...(req.from === undefined || req.from === null ? {} : { from: req.from }),
  ...(req.reply_to === undefined || req.reply_to === null ? {} : { reply_to: req.reply_to }),
});

export function sendersService(deps: { domains: DomainsRepository; keys: DkimKeys; defaultFrom: string }) {
  /** 422 unless the mailbox's domain is, or is under, a verified domain of the tenant. */
  const assertVerified = async (tenantId: string, field: string, from: Mailbox): Promise<void> => {
    const domain = domainOf(from.email);
    const covering = await deps.domains.covering(tenantId, domain);
    if (covering.some((d) => d.status === 'verified')) return;
    const closest = covering[0];
    throw new AppError(
      'sender_not_verified',
      closest
        ? `${field}: ${closest.name} is ${closest.status}, not verified; mail cannot be sent from ${from.email}`
        : `${field}: ${domain} is not a domain of this tenant; add and verify it (POST /domains) to send from ${from.email}`,
      { field, email: from.email, domain, domain_status: closest?.status ?? null },
    );
  };

  return {
    assertVerified,

    /** The tenant's sending defaults (for `forAcceptance`'s `defaultsAhead`). */
    sendingDefaults: (tenantId: string): Promise<SendingDefaults> => deps.domains.defaults(tenantId),

    /**
     * The sender of a new email: the request's, else the template version's defaults, else the
     * tenant's defaults; a from address on an unverified domain is refused (422 naming its field).
     * Null when everything falls back to SMTP_FROM.
     */
    async forAcceptance(
      tenantId: string,
      given: { from: Mailbox | null; reply_to: Mailbox | null },
      template: { from_address?: Mailbox | null; reply_to?: Mailbox | null },
      /** The tenant's defaults, when the caller started looking them up already (`sendingDefaults`). */
      defaultsAhead?: Promise<SendingDefaults> | null,
    ): Promise<Sender | null> {
      const needDefaults =
        (given.from ?? template.from_address ?? null) === null ||
        (given.reply_to ?? template.reply_to ?? null) === null;
      const defaults: SendingDefaults = needDefaults
        ? await (defaultsAhead ?? deps.domains.defaults(tenantId))
        : { from_address: null, reply_to: null };
      const from = given.from ?? template.from_address ?? defaults.from_address ?? null;
      const replyTo = given.reply_to ?? template.reply_to ?? defaults.reply_to ?? null;
      if (from) {
        const field = given.from ? 'from' : template.from_address ? 'template.from' : 'sending_defaults.from';
        await assertVerified(tenantId, field, from);
      }
      return from === null && replyTo === null ? null : { from, reply_to: replyTo };
    },

    /**
     * How a claimed email is sent: as SMTP_FROM, or as its sender with the DKIM key of the
     * verified domain that covers it. A sender whose domain stopped being verified since the email
     * was accepted is not sent as anyone else: the caller retries it later.
     */
    async forDelivery(email: { tenant_id: string; sender?: Sender | null }): Promise<DeliveryIdentity> {
      const sender = email.sender ?? null;
      const replyTo = sender?.reply_to ? { replyTo: formatMailbox(sender.reply_to) } : {};
      if (!sender?.from) return { kind: 'ok', from: deps.defaultFrom, ...replyTo };
      const domain = domainOf(sender.from.email);
      const k = await deps.domains.signingKey(email.tenant_id, domain);
      if (!k) {
        return {
          kind: 'unverified',
          error: `the from domain ${domain} is no longer a verified domain of the tenant; sending waits for it`,
        };
      }
      let privateKey: KeyObject;
      try {
        privateKey = await deps.keys.privateKey(k);
      } catch (e) {
        // An operator's problem (SECRETS_KEY changed), never a reason to send unsigned.
        return {
          kind: 'unverified',
          error: `the DKIM key of ${k.domain} cannot be opened: ${(e as Error).message}`,
        };
      }
      return {
        kind: 'ok',
        from: formatMailbox(sender.from),
        ...replyTo,
        dkim: { domainName: k.domain, keySelector: k.selector, privateKey },
        ...(k.return_path && k.return_path_verified
          ? { envelopeFrom: `bounces@${k.return_path}.${k.domain}` }
          : {}),
      };
    },

    defaults: (tenantId: string) => deps.domains.defaults(tenantId),

    /** Sets the tenant's default sender; its from must be on a verified domain (422). */
    async setDefaults(tenantId: string, input: SenderFields): Promise<SendingDefaults> {
      const problems: FieldProblem[] = [];
      const parsed = senderFieldProblems(input, problems);
      if (problems.length > 0) throw new AppError('validation_failed', undefined, problems);
      if (parsed.from) await assertVerified(tenantId, 'from', parsed.from);
      return deps.domains.setDefaults(tenantId, { from_address: parsed.from, reply_to: parsed.reply_to });
    },
  };
}
export type SendersService = ReturnType<typeof sendersService>;
