import { createHmac, timingSafeEqual } from 'node:crypto';
import type { UnsubscribeRepository } from '../db/unsubscribe.repository.js';
import { isValidEmailAddress } from '../domain/address.js';
import { AppError } from '../domain/errors.js';
import { isUuid } from '../lib/ids.js';

interface TokenClaims {
  tenantId: string;
  email: string;
  emailId: string | null;
}

const VERSION = 'v1';

/**
 * One-click unsubscribe (RFC 8058). Every bulk email (and a transactional one that asks for it)
 * carries a per-recipient link whose token is signed with HMAC-SHA256; the token alone is the
 * authorisation, so it names the tenant, the address and the email it came from.
 */
export function unsubscribeService(deps: {
  repo: UnsubscribeRepository;
  /** The HMAC key: UNSUBSCRIBE_SECRET, or a secret the system keeps in PostgreSQL. */
  secret: () => Promise<Buffer>;
  publicBaseUrl: string;
  mailto: string | null;
}) {
  let key: Promise<Buffer> | undefined;
  const secret = () => {
    key ??= deps.secret().catch((e) => {
      key = undefined;
      throw e;
    });
    return key;
  };
  const sign = async (payload: string) =>
    createHmac('sha256', await secret())
      .update(`${VERSION}.${payload}`)
      .digest()
      .toString('base64url');

  const tokenFor = async (c: TokenClaims) => {
    const payload = Buffer.from(JSON.stringify([c.tenantId, c.email, c.emailId])).toString('base64url');
    return `${VERSION}.${payload}.${await sign(payload)}`;
  };

  const verify = async (token: string): Promise<TokenClaims | null> => {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION || token.length > 2000) return null;
    const [, payload = '', signature = ''] = parts;
    const expected = Buffer.from(await sign(payload), 'base64url');
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      if (!Array.isArray(claims) || claims.length !== 3) return null;
      const [tenantId, email, emailId] = claims as unknown[];
      if (typeof tenantId !== 'string' || typeof email !== 'string' || !isValidEmailAddress(email))
        return null;
      if (emailId !== null && (typeof emailId !== 'string' || !isUuid(emailId))) return null;
      return { tenantId, email, emailId: emailId as string | null };
    } catch {
      return null;
    }
  };

  return {
    tokenFor,

    /** List-Unsubscribe headers for an email, or {} when the email does not carry them. */
    async headersFor(email: {
      id: string;
      tenant_id: string;
      recipient_email: string;
      bulk_job_id: string | null;
      list_unsubscribe: boolean;
    }): Promise<Record<string, string>> {
      if (!email.bulk_job_id && !email.list_unsubscribe) return {};
      const token = await tokenFor({
        tenantId: email.tenant_id,
        email: email.recipient_email,
        emailId: email.id,
      });
      const links = [`<${deps.publicBaseUrl}/unsubscribe/${token}>`];
      if (deps.mailto) links.push(`<mailto:${deps.mailto}?subject=unsubscribe%20${token}>`);
      return {
        'List-Unsubscribe': links.join(', '),
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      };
    },

    /** What a valid token unsubscribes, without doing it (the confirmation page). */
    async inspect(token: string): Promise<{ email: string }> {
      const claims = await verify(token);
      if (!claims) throw new AppError('invalid_token', 'This unsubscribe link is not valid');
      return { email: claims.email };
    },

    /** Suppresses the token's address for its tenant; repeating it changes nothing. */
    async unsubscribe(token: string): Promise<{ email: string; already: boolean }> {
      const claims = await verify(token);
      if (!claims) throw new AppError('invalid_token', 'This unsubscribe link is not valid');
      const r = await deps.repo.unsubscribe(claims.tenantId, claims.email, claims.emailId);
      if (!r) throw new AppError('not_found', 'This unsubscribe link is no longer valid');
      return { email: claims.email, already: !r.created };
    },
  };
}
export type UnsubscribeService = ReturnType<typeof unsubscribeService>;
