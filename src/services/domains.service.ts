import type { CursorKey } from '../db/cursor.js';
import type { Database } from '../db/database.js';
import type {
  CheckOutcome,
  DkimKeyRow,
  DomainRow,
  DomainStatus,
  DomainsRepository,
  StoredCheck,
} from '../db/domains.repository.js';
import { isValidDomainName } from '../domain/address.js';
import { AppError } from '../domain/errors.js';
import type { TxtAnswer, TxtResolver } from '../lib/dns.js';
import { isUuid, newId } from '../lib/ids.js';
import { type DkimKeys, dkimRecordValue } from './dkim-keys.js';

/** Any fixed number shared by every worker process: the background domain check's leader lock. */
export const DOMAIN_CHECK_LOCK_KEY = 4_242_010;

/** A pending domain is checked for this long before it is given up on ('failed'). */
const PENDING_GIVE_UP_MS = 72 * 3600 * 1000;
const FIRST_CHECK_SECONDS = 60;
const BACKOFF_BASE_SECONDS = 60;
const BACKOFF_MAX_SECONDS = 3600;
/** After a DNS failure (timeout, SERVFAIL) the next try comes sooner than a missing record's. */
const DNS_TROUBLE_MAX_SECONDS = 300;
const VERIFIED_RECHECK_SECONDS = 24 * 3600;
/** A GET shows what DNS answers now, but not more often than this per domain. */
const LIVE_CHECK_MIN_AGE_MS = 5000;
const CHECKS_PER_TICK = 50;
const CHECKS_IN_PARALLEL = 5;

export type RecordPurpose = 'dkim' | 'spf' | 'dmarc' | 'return_path';

/** One DNS record to publish, with what the last check found. */
export interface DnsRecordView {
  purpose: RecordPurpose;
  type: 'TXT';
  name: string;
  value: string;
  /** Required records decide whether the domain may send; the others improve delivery. */
  required: boolean;
  /** DKIM records: the selector, and whether the key signs now ('active') or waits ('pending'). */
  selector: string | null;
  key_state: 'active' | 'pending' | null;
  found: string[] | null;
  verified: boolean;
  error: string | null;
}

interface ExpectedRecord {
  purpose: RecordPurpose;
  name: string;
  value: string;
  required: boolean;
  key: DkimKeyRow | null;
  matches: (records: string[]) => { verified: boolean; error: string | null };
}

/** `tag=value; …` (DKIM key records) as a map; tag names lower case, values with spaces removed. */
function tags(record: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return out;
}

const dkimMatches = (publicKey: string) => (records: string[]) => {
  const keyRecords = records.map(tags).filter((t) => t.has('p'));
  if (keyRecords.some((t) => t.get('p') === publicKey && (t.get('k') ?? 'rsa').toLowerCase() === 'rsa'))
    return { verified: true, error: null };
  return {
    verified: false,
    error:
      keyRecords.length > 0
        ? "the record holds another key than this domain's"
        : 'no DKIM key record (v=DKIM1; …; p=…) at this name',
  };
};

const spfMatches = (mechanisms: readonly string[]) => (records: string[]) => {
  const spf = records.filter((r) => /^v=spf1(\s|$)/i.test(r.trim()));
  if (spf.length === 0) return { verified: false, error: 'no SPF record (v=spf1 …) at this name' };
  if (spf.length > 1)
    return { verified: false, error: 'more than one SPF record: receivers treat that as an error' };
  const terms = new Set((spf[0] ?? '').toLowerCase().split(/\s+/));
  const missing = mechanisms.filter((m) => !terms.has(m.toLowerCase()) && !terms.has(`+${m.toLowerCase()}`));
  return missing.length === 0
    ? { verified: true, error: null }
    : { verified: false, error: `the SPF record lacks ${missing.join(' ')}` };
};

const dmarcMatches = (records: string[]) =>
  records.some((r) => /^v=DMARC1\s*(;|$)/i.test(r.trim()))
    ? { verified: true, error: null }
    : { verified: false, error: 'no DMARC record (v=DMARC1; …) at this name' };

const describeAnswer = (a: TxtAnswer): string =>
  a.kind === 'none'
    ? a.code === 'ENOTFOUND'
      ? 'the name does not exist (NXDOMAIN)'
      : 'no TXT record at this name'
    : `the DNS look-up failed (${a.kind === 'error' ? a.code : ''})`;

export function domainsService(deps: {
  db: Pick<Database, 'withLock'>;
  domains: DomainsRepository;
  keys: DkimKeys;
  dns: TxtResolver;
  /** SPF mechanisms of the relay (SPF_INCLUDE); empty: no SPF record is suggested. */
  spfMechanisms: readonly string[];
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const spfValue = `v=spf1 ${deps.spfMechanisms.join(' ')} ~all`;

  const expected = (d: DomainRow, keys: DkimKeyRow[]): ExpectedRecord[] => {
    const out: ExpectedRecord[] = [];
    for (const k of keys) {
      out.push({
        purpose: 'dkim',
        name: `${k.selector}._domainkey.${d.name}`,
        value: dkimRecordValue(k.public_key),
        required: k.state === 'active',
        key: k,
        matches: dkimMatches(k.public_key),
      });
    }
    if (deps.spfMechanisms.length > 0) {
      out.push({
        purpose: 'spf',
        name: d.name,
        value: spfValue,
        required: false,
        key: null,
        matches: spfMatches(deps.spfMechanisms),
      });
    }
    out.push({
      purpose: 'dmarc',
      name: `_dmarc.${d.name}`,
      value: 'v=DMARC1; p=none;',
      required: false,
      key: null,
      matches: dmarcMatches,
    });
    if (d.return_path && deps.spfMechanisms.length > 0) {
      out.push({
        purpose: 'return_path',
        name: `${d.return_path}.${d.name}`,
        value: spfValue,
        required: false,
        key: null,
        matches: spfMatches(deps.spfMechanisms),
      });
    }
    return out;
  };

  const recordKey = (purpose: string, name: string) => `${purpose}:${name}`;

  const view = (d: DomainRow, keys: DkimKeyRow[]) => {
    const stored = new Map(d.checks.map((c) => [recordKey(c.purpose, c.name), c]));
    const records: DnsRecordView[] = expected(d, keys).map((e) => {
      const c = stored.get(recordKey(e.purpose, e.name));
      return {
        purpose: e.purpose,
        type: 'TXT',
        name: e.name,
        value: e.value,
        required: e.required,
        selector: e.key?.selector ?? null,
        key_state: e.key ? (e.key.state as 'active' | 'pending') : null,
        found: c?.found ?? null,
        verified: c?.verified ?? false,
        error: c?.error ?? null,
      };
    });
    const active = keys.find((k) => k.state === 'active');
    const pending = keys.find((k) => k.state === 'pending');
    return {
      id: d.id,
      name: d.name,
      status: d.status,
      status_reason: d.status_reason,
      can_send: d.status === 'verified',
      dkim_selector: active?.selector ?? null,
      pending_dkim_selector: pending?.selector ?? null,
      return_path: d.return_path ? `${d.return_path}.${d.name}` : null,
      return_path_verified: d.return_path_verified,
      records,
      checked_at: d.checked_at?.toISOString() ?? null,
      next_check_at: d.next_check_at?.toISOString() ?? null,
      verified_at: d.verified_at?.toISOString() ?? null,
      created_at: d.created_at.toISOString(),
    };
  };
  type DomainView = ReturnType<typeof view>;

  const keysOf = async (d: DomainRow) => deps.domains.keysOf(d.tenant_id, [d.id]);

  const backoffSeconds = (failures: number, cap = BACKOFF_MAX_SECONDS) =>
    Math.min(cap, BACKOFF_BASE_SECONDS * 2 ** Math.min(failures, 20));

  /**
   * Looks every record of the domain up now, decides its status and when to look again, and
   * stores it. A DKIM record of a pending key that is found makes that key the signing one.
   */
  const check = async (
    d: DomainRow,
    mode: 'background' | 'manual' | 'live',
  ): Promise<{ row: DomainRow; keys: DkimKeyRow[] }> => {
    const manual = mode === 'manual';
    let keys = await keysOf(d);
    const wanted = expected(d, keys);
    const answers = new Map<string, Promise<TxtAnswer>>();
    for (const e of wanted) if (!answers.has(e.name)) answers.set(e.name, deps.dns.txt(e.name));
    const results = await Promise.all(
      wanted.map(async (e) => {
        const a = await (answers.get(e.name) as Promise<TxtAnswer>);
        const r = a.kind === 'found' ? e.matches(a.records) : { verified: false, error: describeAnswer(a) };
        const stored: StoredCheck = {
          purpose: e.purpose,
          name: e.name,
          found: a.kind === 'found' ? a.records : a.kind === 'none' ? [] : null,
          verified: r.verified,
          error: r.error,
        };
        return { e, a, stored };
      }),
    );

    const dkimOf = (state: 'active' | 'pending') => results.find((r) => r.e.key?.state === state);
    const active = dkimOf('active');
    const pending = dkimOf('pending');
    let dkimVerified = active?.stored.verified ?? false;
    if (pending?.stored.verified && pending.e.key) {
      // The new selector is published: it signs from now on, and the old record may go.
      if (await deps.domains.promotePendingKey(d.tenant_id, d.id, pending.e.key.id)) {
        deps.log?.info({ domain: d.name, selector: pending.e.key.selector }, 'DKIM key rotated');
        dkimVerified = true;
        keys = await keysOf(d);
      }
    } else if (active?.stored.verified && active.e.key && !active.e.key.verified_at) {
      await deps.domains.markKeyVerified(d.tenant_id, active.e.key.id);
    }
    const dnsTrouble = !dkimVerified && active?.a.kind === 'error';
    const restartPending = manual && d.status === 'failed';
    const previous: DomainStatus = restartPending ? 'pending' : d.status;
    const failures = d.check_failures + 1;
    const dkimName = active?.e.name ?? '';
    let outcome: Omit<CheckOutcome, 'checks' | 'returnPathVerified'>;
    if (dkimVerified) {
      const waiting = keys.some((k) => k.state === 'pending');
      outcome = {
        status: 'verified',
        statusReason: null,
        checkFailures: waiting ? failures : 0,
        nextCheckAt: new Date(now() + 1000 * (waiting ? backoffSeconds(failures) : VERIFIED_RECHECK_SECONDS)),
      };
    } else if (dnsTrouble) {
      // Says nothing about the records: keep the status (a DNS outage must not stop all mail).
      outcome = {
        status: previous,
        statusReason: `The DNS look-up of ${dkimName} failed (${active?.a.kind === 'error' ? active.a.code : ''}); checking again`,
        checkFailures: failures,
        nextCheckAt:
          previous === 'failed'
            ? null
            : new Date(now() + 1000 * backoffSeconds(failures, DNS_TROUBLE_MAX_SECONDS)),
      };
    } else {
      const why = `The DKIM record ${dkimName}: ${active?.stored.error ?? 'not found'}`;
      if (previous === 'verified' || previous === 'verification_lost') {
        if (previous === 'verified')
          deps.log?.warn({ domain: d.name, reason: why }, 'domain verification lost');
        outcome = {
          status: 'verification_lost',
          statusReason: `${why}. Mail from this domain is refused until the record is back.`,
          checkFailures: failures,
          nextCheckAt: new Date(now() + 1000 * backoffSeconds(failures)),
        };
      } else {
        const pendingSince = restartPending ? now() : d.pending_since.getTime();
        const givenUp = previous === 'failed' || now() - pendingSince > PENDING_GIVE_UP_MS;
        outcome = givenUp
          ? {
              status: 'failed',
              statusReason: `${why}. Not found within 72 hours of being added: automatic checks stopped; publish the record and verify again.`,
              checkFailures: failures,
              nextCheckAt: null,
            }
          : {
              status: 'pending',
              statusReason: `${why}.`,
              checkFailures: failures,
              nextCheckAt: new Date(now() + 1000 * backoffSeconds(failures)),
            };
      }
    }
    // A page polling GET /domains/{id} shows DNS as it is now, without pushing the background
    // check's backoff further out: only a change of status reschedules it.
    if (mode === 'live' && outcome.status === d.status && !dkimVerified) {
      outcome = { ...outcome, checkFailures: d.check_failures, nextCheckAt: d.next_check_at };
    }
    const returnPath = results.find((r) => r.e.purpose === 'return_path');
    const row = await deps.domains.saveCheck(d.tenant_id, d.id, {
      ...outcome,
      checks: results.map((r) => r.stored),
      returnPathVerified: returnPath?.stored.verified ?? false,
      restartPending,
    });
    if (row && row.status !== d.status)
      deps.log?.info({ domain: d.name, from: d.status, to: row.status }, 'domain status changed');
    return { row: row ?? d, keys };
  };

  const find = async (tenantId: string, id: string): Promise<DomainRow> => {
    const d = isUuid(id) ? await deps.domains.get(tenantId, id) : null;
    if (!d) throw new AppError('domain_not_found');
    return d;
  };

  return {
    /** Adds a domain and its first DKIM key; answers the records to publish. */
    async create(
      tenantId: string,
      input: { name: string; return_path?: string | null | undefined },
    ): Promise<DomainView> {
      const name = normalizeDomainName(input.name);
      if (name === null) {
        throw new AppError('validation_failed', undefined, [
          { field: 'name', message: 'is not a domain name (e.g. example.com)' },
        ]);
      }
      const returnPath = input.return_path?.trim().toLowerCase() || null;
      if (returnPath !== null) {
        if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(returnPath)) {
          throw new AppError('validation_failed', undefined, [
            { field: 'return_path', message: 'must be one DNS label, e.g. "bounces"' },
          ]);
        }
        if (deps.spfMechanisms.length === 0) {
          throw new AppError('validation_failed', undefined, [
            { field: 'return_path', message: "needs the installation's SPF_INCLUDE, which is not set" },
          ]);
        }
      }
      const id = newId();
      const key = await deps.keys.generate(tenantId, id);
      const row = await deps.domains.create(
        { id, tenantId, name, returnPath, firstCheckInSeconds: FIRST_CHECK_SECONDS },
        key,
      );
      if (!row) throw new AppError('domain_exists', undefined, { name });
      return view(row, await keysOf(row));
    },

    async list(tenantId: string, limit: number, after: CursorKey | null) {
      const rows = await deps.domains.list(tenantId, limit, after);
      const keys = await deps.domains.keysOf(
        tenantId,
        rows.map((r) => r.id),
      );
      return rows.map((r) => ({
        row: r,
        view: view(
          r,
          keys.filter((k) => k.domain_id === r.id),
        ),
      }));
    },

    /** The domain with what DNS answers now (looked up at most every few seconds). */
    async get(tenantId: string, id: string): Promise<DomainView> {
      const d = await find(tenantId, id);
      if (d.checked_at && now() - d.checked_at.getTime() < LIVE_CHECK_MIN_AGE_MS)
        return view(d, await keysOf(d));
      const { row, keys } = await check(d, 'live');
      return view(row, keys);
    },

    /** Checks now; a domain that was given up on ('failed') is checked again for 72 hours. */
    async verify(tenantId: string, id: string): Promise<DomainView> {
      const { row, keys } = await check(await find(tenantId, id), 'manual');
      return view(row, keys);
    },

    async remove(tenantId: string, id: string): Promise<void> {
      if (!isUuid(id) || !(await deps.domains.delete(tenantId, id))) throw new AppError('domain_not_found');
    },

    /**
     * Publishes a new DKIM key under a new selector. The current key keeps signing until the new
     * record is found (by a check), then the new key signs and the old record may be removed.
     */
    async rotateDkim(tenantId: string, id: string): Promise<DomainView> {
      const d = await find(tenantId, id);
      if (d.status !== 'verified') {
        throw new AppError('domain_not_verified', 'Only a verified domain can rotate its DKIM key', {
          status: d.status,
        });
      }
      const key = await deps.keys.generate(tenantId, d.id);
      if (!(await deps.domains.addPendingKey(tenantId, d.id, key)))
        throw new AppError('dkim_rotation_pending');
      const row = (await deps.domains.get(tenantId, id)) ?? d;
      return view(row, await keysOf(row));
    },

    /**
     * The background check (worker role): domains whose check is due — pending ones with backoff,
     * verified ones daily — a few at a time, by one worker process at a time.
     */
    async tick(): Promise<{ leader: boolean; checked: number }> {
      const r = await deps.db.withLock(DOMAIN_CHECK_LOCK_KEY, async () => {
        const due = await deps.domains.due(CHECKS_PER_TICK);
        let checked = 0;
        const next = async () => {
          for (let d = due.shift(); d !== undefined; d = due.shift()) {
            await check(d, 'background');
            checked++;
          }
        };
        await Promise.all(Array.from({ length: CHECKS_IN_PARALLEL }, next));
        return checked;
      });
      return { leader: r !== null, checked: r ?? 0 };
    },
  };
}
export type DomainsService = ReturnType<typeof domainsService>;

/** Lower case, no trailing dot, IDNs as A-labels; null when it is not a domain name. */
export function normalizeDomainName(input: string): string | null {
  const trimmed = input.trim().replace(/\.$/, '');
  if (trimmed === '' || /[\s/@:]/.test(trimmed)) return null;
  let ascii: string;
  try {
    ascii = new URL(`http://${trimmed}`).hostname;
  } catch {
    return null;
  }
  return isValidDomainName(ascii) ? ascii : null;
}
