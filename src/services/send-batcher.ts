import { isConnectionError } from '../db/database.js';
import type { DomainsRepository } from '../db/domains.repository.js';
import type { EmailRow, EmailsRepository, NewEmail } from '../db/emails.repository.js';
import type { SuppressionRow, SuppressionsRepository } from '../db/suppressions.repository.js';
import type { TemplatesRepository, TemplateVersionRow } from '../db/templates.repository.js';
import { batchedLookup, microBatch } from '../lib/micro-batch.js';
import { type Dispatcher, dispatchQuietly } from '../queue/dispatcher.js';
import { type DispatchRequest, scheduledJob, sendJobsFor } from '../queue/jobs.js';

export type InsertResult = {
  inserted: boolean;
  row: Pick<EmailRow, 'id' | 'status' | 'request_fingerprint'>;
};

/** Most emails one acceptance statement inserts. */
export const MAX_SEND_BATCH = 100;

const pairKey = (a: string, b: string) => `${a}\u0000${b}`;

/**
 * What POST /send does per request, shared by the requests in flight at the same moment
 * (lib/micro-batch.ts): the template and suppression look-ups are one statement for all of them,
 * and the emails they accept are inserted — each with its `queued` (or `scheduled`) event — by one
 * statement, committed once, then handed to the queue in one dispatch per queue. Each caller gets
 * its own answer only after that commit, so a 202 still means "stored".
 *
 * A batch that fails because PostgreSQL is away fails each of its requests with that error (a 503
 * from the API; nothing of the batch was stored, it was one statement). Any other failure of a
 * batch of several is retried one email at a time, so that one email the database refuses fails
 * alone.
 */
export function sendBatcher(deps: {
  emails: EmailsRepository;
  templates: TemplatesRepository;
  suppressions: SuppressionsRepository;
  dispatcher: Dispatcher;
  onDispatchError?: ((e: unknown) => void) | undefined;
  maxBatch?: number;
}) {
  const template = batchedLookup<{ tenantId: string; id: string }, TemplateVersionRow>({
    keyOf: (k) => pairKey(k.tenantId, k.id),
    async load(keys) {
      const rows = await deps.templates.latestVersions(keys);
      return new Map(rows.map((r) => [pairKey(r.tenant_id, r.id), r]));
    },
  });

  const suppression = batchedLookup<{ tenantId: string; email: string }, SuppressionRow>({
    keyOf: (k) => pairKey(k.tenantId, k.email),
    async load(keys) {
      const rows = await deps.suppressions.findMany(keys);
      return new Map(rows.map((r) => [pairKey(r.tenant_id, r.email), r]));
    },
  });

  const dispatchAccepted = async (emails: NewEmail[], results: (InsertResult | Error)[]) => {
    const now = Date.now();
    const toSend: NewEmail[] = [];
    const scheduled: DispatchRequest<'mail.scheduled'>[] = [];
    for (const [i, e] of emails.entries()) {
      const r = results[i];
      if (!r || r instanceof Error || !r.inserted) continue;
      if (e.status === 'scheduled' && e.sendAt) {
        scheduled.push(scheduledJob(e.id, e.sendAt.getTime() - now));
      } else toSend.push(e);
    }
    const send = sendJobsFor(toSend);
    await Promise.all([
      send.length > 0
        ? dispatchQuietly(() => deps.dispatcher.dispatch('mail.send', send), deps.onDispatchError)
        : null,
      scheduled.length > 0
        ? dispatchQuietly(() => deps.dispatcher.dispatch('mail.scheduled', scheduled), deps.onDispatchError)
        : null,
    ]);
  };

  const insert = microBatch<NewEmail, InsertResult>({
    maxBatch: deps.maxBatch ?? MAX_SEND_BATCH,
    maxInFlight: 4,
    async run(accepted) {
      // The emails of the statement that go to mail.send share one job, and store its key.
      const toSend = accepted.filter((e) => e.status === 'queued');
      const batch = toSend.length > 1 ? toSend[0]?.id : undefined;
      const emails = batch
        ? accepted.map((e) => (e.status === 'queued' ? { ...e, sendBatch: batch } : e))
        : accepted;
      let results: (InsertResult | Error)[];
      try {
        results = await deps.emails.insertMany(emails);
      } catch (e) {
        if (emails.length === 1 || isConnectionError(e)) throw e;
        results = await Promise.all(
          emails.map((one) =>
            deps.emails.insertMany([one]).then(
              (r) => r[0] as InsertResult,
              (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
            ),
          ),
        );
      }
      await dispatchAccepted(emails, results);
      return results;
    },
  });

  return {
    /** The latest version of the tenant's template, or null. */
    template: async (tenantId: string, id: string) => (await template({ tenantId, id })) ?? null,
    /** The tenant's suppression of the address, or null. */
    suppression: async (tenantId: string, email: string) => (await suppression({ tenantId, email })) ?? null,
    /** Inserts the email alone (one with attachments) with its first event, and dispatches it once committed. */
    insert,
    /** Dispatches emails inserted elsewhere (best effort, as every dispatch after a commit). */
    dispatchAccepted,
  };
}
export type SendBatcher = ReturnType<typeof sendBatcher>;

/**
 * The domains repository with the two look-ups acceptance makes per request (the tenant's sending
 * defaults, the domains covering a sender) shared by the requests in flight: one query per
 * distinct tenant (and domain) for all of them.
 */
export function withSharedSenderLookups(domains: DomainsRepository): DomainsRepository {
  const defaults = batchedLookup<string, Awaited<ReturnType<DomainsRepository['defaults']>>>({
    keyOf: (tenantId) => tenantId,
    load: async (tenantIds) =>
      new Map(await Promise.all(tenantIds.map(async (t) => [t, await domains.defaults(t)] as const))),
  });
  const covering = batchedLookup<
    { tenantId: string; domain: string },
    Awaited<ReturnType<DomainsRepository['covering']>>
  >({
    keyOf: (k) => pairKey(k.tenantId, k.domain),
    load: async (keys) =>
      new Map(
        await Promise.all(
          keys.map(
            async (k) =>
              [pairKey(k.tenantId, k.domain), await domains.covering(k.tenantId, k.domain)] as const,
          ),
        ),
      ),
  });
  return {
    ...domains,
    defaults: async (tenantId) => (await defaults(tenantId)) ?? { from_address: null, reply_to: null },
    covering: async (tenantId, domain) => (await covering({ tenantId, domain })) ?? [],
  };
}
