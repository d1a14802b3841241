import type { Mailbox } from '../domain/address.js';
import type { CursorKey } from './cursor.js';
import { type Database, PG_UNIQUE_VIOLATION, pgErrorCode } from './database.js';

export type DomainStatus = 'pending' | 'verified' | 'failed' | 'verification_lost';

/** One DNS record as the last check saw it. */
export interface StoredCheck {
  purpose: string;
  name: string;
  found: string[] | null;
  verified: boolean;
  error: string | null;
}

export interface DomainRow {
  id: string;
  tenant_id: string;
  name: string;
  status: DomainStatus;
  status_reason: string | null;
  return_path: string | null;
  return_path_verified: boolean;
  checks: StoredCheck[];
  checked_at: Date | null;
  check_failures: number;
  next_check_at: Date | null;
  verified_at: Date | null;
  pending_since: Date;
  created_at: Date;
  updated_at: Date;
  cursor_ts: string;
}

export interface DkimKeyRow {
  id: string;
  domain_id: string;
  tenant_id: string;
  selector: string;
  public_key: string;
  private_key_enc: Buffer | null;
  sealed_with: string;
  state: 'active' | 'pending' | 'retired';
  verified_at: Date | null;
  created_at: Date;
}

export interface NewDkimKey {
  id: string;
  selector: string;
  publicKey: string;
  privateKeySealed: Buffer;
  sealedWith: string;
}

/** What a check decided, written in one statement. */
export interface CheckOutcome {
  status: DomainStatus;
  statusReason: string | null;
  checks: StoredCheck[];
  checkFailures: number;
  nextCheckAt: Date | null;
  returnPathVerified: boolean;
  /** Restart the give-up clock of a domain that never verified (a manual check of a failed one). */
  restartPending?: boolean;
}

/** The key that signs for a sender domain: the longest verified domain of the tenant covering it. */
export interface SigningKeyRow {
  tenant_id: string;
  domain_id: string;
  domain: string;
  return_path: string | null;
  return_path_verified: boolean;
  key_id: string;
  selector: string;
  private_key_enc: Buffer;
  sealed_with: string;
}

export interface SendingDefaults {
  from_address: Mailbox | null;
  reply_to: Mailbox | null;
}

const SELECT = 'SELECT d.*, d.created_at::text AS cursor_ts FROM domains d';
const KEY_COLUMNS = `id, domain_id, tenant_id, selector, public_key, private_key_enc, sealed_with, state,
  verified_at, created_at`;

export function domainsRepository(db: Database) {
  const insertKey = (
    q: Pick<Database, 'query'>,
    tenantId: string,
    domainId: string,
    k: NewDkimKey,
    state: 'active' | 'pending',
  ) =>
    q.query(
      `INSERT INTO domain_dkim_keys (id, domain_id, tenant_id, selector, public_key, private_key_enc, sealed_with, state)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [k.id, domainId, tenantId, k.selector, k.publicKey, k.privateKeySealed, k.sealedWith, state],
    );

  return {
    /** Adds a domain with its first key; null when the tenant already has this domain. */
    async create(
      d: {
        id: string;
        tenantId: string;
        name: string;
        returnPath: string | null;
        firstCheckInSeconds: number;
      },
      key: NewDkimKey,
    ): Promise<DomainRow | null> {
      try {
        return await db.transaction(async (tx) => {
          const { rows } = await tx.query<DomainRow>(
            `INSERT INTO domains (id, tenant_id, name, return_path, next_check_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
             RETURNING *, created_at::text AS cursor_ts`,
            [d.id, d.tenantId, d.name, d.returnPath, d.firstCheckInSeconds],
          );
          await insertKey(tx, d.tenantId, d.id, key, 'active');
          return rows[0] as DomainRow;
        });
      } catch (e) {
        if (pgErrorCode(e) === PG_UNIQUE_VIOLATION) return null;
        throw e;
      }
    },

    async get(tenantId: string, id: string): Promise<DomainRow | null> {
      const { rows } = await db.query<DomainRow>(`${SELECT} WHERE d.tenant_id = $1 AND d.id = $2`, [
        tenantId,
        id,
      ]);
      return rows[0] ?? null;
    },

    async list(tenantId: string, limit: number, after: CursorKey | null): Promise<DomainRow[]> {
      const { rows } = await db.query<DomainRow>(
        `${SELECT} WHERE d.tenant_id = $1
            AND ($2::timestamptz IS NULL OR (d.created_at, d.id) < ($2::timestamptz, $3::uuid))
          ORDER BY d.created_at DESC, d.id DESC LIMIT $4`,
        [tenantId, after?.ts ?? null, after?.id ?? null, limit + 1],
      );
      return rows;
    },

    /** The active and pending keys of the given domains (never retired ones). */
    async keysOf(tenantId: string, domainIds: string[]): Promise<DkimKeyRow[]> {
      if (domainIds.length === 0) return [];
      const { rows } = await db.query<DkimKeyRow>(
        `SELECT ${KEY_COLUMNS} FROM domain_dkim_keys
          WHERE tenant_id = $1 AND domain_id = ANY($2::uuid[]) AND state <> 'retired'
          ORDER BY created_at`,
        [tenantId, domainIds],
      );
      return rows;
    },

    /** Deletes the domain and its keys; clears a default sender on it. False when unknown. */
    async delete(tenantId: string, id: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ name: string }>(
          'DELETE FROM domains WHERE tenant_id = $1 AND id = $2 RETURNING name',
          [tenantId, id],
        );
        const name = rows[0]?.name;
        if (name === undefined) return false;
        await tx.query(
          `UPDATE tenant_sending_defaults SET from_address = NULL, updated_at = now()
            WHERE tenant_id = $1 AND (split_part(from_address->>'email', '@', 2) = $2
                                      OR split_part(from_address->>'email', '@', 2) LIKE '%.' || $2)`,
          [tenantId, name],
        );
        return true;
      });
    },

    /** Adds a pending key (a rotation); false when one is pending already. */
    async addPendingKey(tenantId: string, domainId: string, key: NewDkimKey): Promise<boolean> {
      try {
        await db.transaction(async (tx) => {
          await insertKey(tx, tenantId, domainId, key, 'pending');
          await tx.query(
            `UPDATE domains SET next_check_at = now() + interval '1 minute', check_failures = 0, updated_at = now()
              WHERE tenant_id = $1 AND id = $2`,
            [tenantId, domainId],
          );
        });
        return true;
      } catch (e) {
        if (pgErrorCode(e) === PG_UNIQUE_VIOLATION) return false;
        throw e;
      }
    },

    /**
     * The pending key's record was found: it becomes the active key and the old one is retired
     * (its private key erased), in one transaction. False when there was no pending key.
     */
    async promotePendingKey(tenantId: string, domainId: string, pendingKeyId: string): Promise<boolean> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: string }>(
          `SELECT id FROM domain_dkim_keys
            WHERE tenant_id = $1 AND domain_id = $2 AND id = $3 AND state = 'pending' FOR UPDATE`,
          [tenantId, domainId, pendingKeyId],
        );
        if (rows.length === 0) return false;
        await tx.query(
          `UPDATE domain_dkim_keys SET state = 'retired', private_key_enc = NULL, retired_at = now()
            WHERE tenant_id = $1 AND domain_id = $2 AND state = 'active'`,
          [tenantId, domainId],
        );
        await tx.query(
          `UPDATE domain_dkim_keys SET state = 'active', verified_at = coalesce(verified_at, now())
            WHERE tenant_id = $1 AND id = $2`,
          [tenantId, pendingKeyId],
        );
        return true;
      });
    },

    /** Records that a key's record was found (the first time). */
    async markKeyVerified(tenantId: string, keyId: string): Promise<void> {
      await db.query(
        'UPDATE domain_dkim_keys SET verified_at = coalesce(verified_at, now()) WHERE tenant_id = $1 AND id = $2',
        [tenantId, keyId],
      );
    },

    async saveCheck(tenantId: string, id: string, o: CheckOutcome): Promise<DomainRow | null> {
      const { rows } = await db.query<DomainRow>(
        `UPDATE domains
            SET status = $3, status_reason = $4, checks = $5, checked_at = now(), check_failures = $6,
                next_check_at = $7, return_path_verified = $8, updated_at = now(),
                verified_at = CASE WHEN $3 = 'verified' THEN coalesce(verified_at, now()) ELSE verified_at END,
                pending_since = CASE WHEN $9 THEN now() ELSE pending_since END
          WHERE tenant_id = $1 AND id = $2
          RETURNING *, created_at::text AS cursor_ts`,
        [
          tenantId,
          id,
          o.status,
          o.statusReason,
          JSON.stringify(o.checks),
          o.checkFailures,
          o.nextCheckAt,
          o.returnPathVerified,
          o.restartPending ?? false,
        ],
      );
      return rows[0] ?? null;
    },

    /** Domains whose check is due, oldest due first (every tenant: the worker's background check). */
    async due(limit: number): Promise<DomainRow[]> {
      const { rows } = await db.query<DomainRow>(
        `${SELECT} WHERE d.next_check_at <= now() ORDER BY d.next_check_at LIMIT $1`,
        [limit],
      );
      return rows;
    },

    /** The tenant's domains that are `domain` or a parent of it, longest first. */
    async covering(tenantId: string, domain: string): Promise<Pick<DomainRow, 'id' | 'name' | 'status'>[]> {
      const { rows } = await db.query<Pick<DomainRow, 'id' | 'name' | 'status'>>(
        `SELECT id, name, status FROM domains
          WHERE tenant_id = $1 AND ($2 = name OR right($2, length(name) + 1) = '.' || name)
          ORDER BY length(name) DESC`,
        [tenantId, domain],
      );
      return rows;
    },

    /** The signing key for mail from `domain`: the longest verified domain covering it. */
    async signingKey(tenantId: string, domain: string): Promise<SigningKeyRow | null> {
      const { rows } = await db.query<SigningKeyRow>(
        `SELECT d.tenant_id, d.id AS domain_id, d.name AS domain, d.return_path, d.return_path_verified, k.id AS key_id, k.selector,
                k.private_key_enc, k.sealed_with
           FROM domains d JOIN domain_dkim_keys k ON k.domain_id = d.id AND k.state = 'active'
          WHERE d.tenant_id = $1 AND d.status = 'verified'
            AND ($2 = d.name OR right($2, length(d.name) + 1) = '.' || d.name)
          ORDER BY length(d.name) DESC LIMIT 1`,
        [tenantId, domain],
      );
      return rows[0] ?? null;
    },

    async defaults(tenantId: string): Promise<SendingDefaults> {
      const { rows } = await db.query<SendingDefaults>(
        'SELECT from_address, reply_to FROM tenant_sending_defaults WHERE tenant_id = $1',
        [tenantId],
      );
      return rows[0] ?? { from_address: null, reply_to: null };
    },

    async setDefaults(tenantId: string, d: SendingDefaults): Promise<SendingDefaults> {
      const { rows } = await db.query<SendingDefaults>(
        `INSERT INTO tenant_sending_defaults (tenant_id, from_address, reply_to) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id) DO UPDATE SET from_address = $2, reply_to = $3, updated_at = now()
         RETURNING from_address, reply_to`,
        [
          tenantId,
          d.from_address === null ? null : JSON.stringify(d.from_address),
          d.reply_to === null ? null : JSON.stringify(d.reply_to),
        ],
      );
      return rows[0] as SendingDefaults;
    },
  };
}
export type DomainsRepository = ReturnType<typeof domainsRepository>;
