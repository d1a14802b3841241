import type { EmailEventType, EmailStatus } from '../domain/email-status.js';
import { microBatch } from '../lib/micro-batch.js';
import type { Database } from './database.js';
import type { SuppressionReason } from './suppressions.repository.js';

export interface IncomingWebhookEvent {
  provider: string;
  providerEventId: string;
  /** The provider's own name for the event, stored in provider_webhook_events. */
  providerType: string;
  /** Our email id from the payload (already checked to be a uuid), else null. */
  emailId: string | null;
  providerMessageId: string | null;
  occurredAt: Date | null;
  payload: unknown;
}

/** What one event does to the email it concerns, whatever that email's status turns out to be. */
export interface WebhookEffect {
  /** The email_events row to append (the email's metadata and tags are added), or null. */
  event: { type: EmailEventType; data: Record<string, unknown> } | null;
  /** Current status → new status, for every status this event moves (the precedence rule). */
  transitions: Partial<Record<EmailStatus, EmailStatus>>;
  /** Added for the email's recipient in the email's tenant (the email id is added to the source). */
  suppression: { reason: SuppressionReason; source: Record<string, unknown> } | null;
}

export interface RecordedWebhookEvent {
  duplicate: boolean;
  emailId: string | null;
  tenantId: string | null;
}

/**
 * How concurrent events are grouped (group commit): each event goes to a lane chosen by its email
 * (our id, else the provider's message id), so two events of one email always share a lane and are
 * written in the order they arrived. A lane runs one statement at a time; the events that arrive
 * while it runs, or within `waitMs` of an idle lane's first one, go together in its next statement
 * (at most `maxEvents`), which is one transaction and one commit. Every caller is answered once the
 * statement holding its event has committed.
 */
export interface WebhookBatching {
  lanes: number;
  maxEvents: number;
  waitMs: number;
}

export const DEFAULT_WEBHOOK_BATCHING: WebhookBatching = { lanes: 4, maxEvents: 100, waitMs: 1 };

const RECORD_ONE = 'SELECT * FROM record_webhook_event($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)';

// One call of record_webhook_event per event, in the order given, in one statement. Each call
// sees what the calls before it wrote (PL/pgSQL runs each of its statements on a new snapshot), so
// a replay of an event of the same batch is recognised as one.
const RECORD_MANY = `SELECT b.n, r.*
  FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[],
              $8::jsonb[], $9::text[], $10::jsonb[], $11::text[], $12::jsonb[])
       WITH ORDINALITY AS b(provider, event_id, email_id, message_id, provider_type, occurred_at, payload,
                            transitions, event_type, event_data, suppression_reason, suppression_source, n)
 CROSS JOIN LATERAL record_webhook_event(b.provider, b.event_id, b.email_id, b.message_id, b.provider_type,
                                         b.occurred_at, b.payload, b.transitions, b.event_type, b.event_data,
                                         b.suppression_reason, b.suppression_source) r
 ORDER BY b.n`;

interface RecordRow {
  was_inserted: boolean;
  found_email_id: string | null;
  found_tenant_id: string | null;
}

const recorded = (row: RecordRow | undefined): RecordedWebhookEvent => ({
  duplicate: row?.was_inserted !== true,
  emailId: row?.found_email_id ?? null,
  tenantId: row?.found_tenant_id ?? null,
});

function recordParams(ev: IncomingWebhookEvent, effect: WebhookEffect): unknown[] {
  const moves = Object.keys(effect.transitions).length > 0 ? JSON.stringify(effect.transitions) : null;
  return [
    ev.provider,
    ev.providerEventId,
    ev.emailId,
    ev.providerMessageId,
    ev.providerType,
    ev.occurredAt,
    JSON.stringify(ev.payload),
    moves,
    effect.event?.type ?? null,
    effect.event ? JSON.stringify(effect.event.data) : null,
    effect.suppression?.reason ?? null,
    effect.suppression ? JSON.stringify(effect.suppression.source) : null,
  ];
}

/** FNV-1a: the lane of an email key. */
function laneOf(key: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
}

export function webhooksRepository(db: Database, batching: WebhookBatching = DEFAULT_WEBHOOK_BATCHING) {
  const recordOne = async (params: unknown[]) =>
    recorded((await db.query<RecordRow>(RECORD_ONE, params)).rows[0]);

  /** One lane's batch: one statement for all, or each on its own when that statement fails. */
  const recordMany = async (batch: unknown[][]): Promise<(RecordedWebhookEvent | Error)[]> => {
    const alone = (params: unknown[]) =>
      recordOne(params).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    if (batch.length === 1) return [await alone(batch[0] as unknown[])];
    let rows: (RecordRow & { n: number })[];
    try {
      const columns = Array.from({ length: 12 }, (_, k) => batch.map((params) => params[k]));
      rows = (await db.query<RecordRow & { n: number }>(RECORD_MANY, columns)).rows;
    } catch {
      // The statement was rolled back as a whole (an event PostgreSQL refuses, a deadlock with
      // another writer): each event is written on its own, so one event's error is its caller's.
      const results: (RecordedWebhookEvent | Error)[] = [];
      for (const params of batch) results.push(await alone(params));
      return results;
    }
    const results: (RecordedWebhookEvent | Error | undefined)[] = batch.map(() => undefined);
    for (const row of rows) results[row.n - 1] = recorded(row);
    // Never expected (the function returns one row per call), but no caller is left waiting.
    for (const [i, params] of batch.entries()) results[i] ??= await alone(params);
    return results as (RecordedWebhookEvent | Error)[];
  };

  // A lane runs one statement at a time (maxInFlight 1), so one email's events keep their order.
  const lanes = Array.from({ length: Math.max(1, batching.lanes) }, () =>
    microBatch<unknown[], RecordedWebhookEvent>({
      run: recordMany,
      maxBatch: batching.maxEvents,
      maxInFlight: 1,
      waitMs: batching.waitMs,
    }),
  );

  return {
    /**
     * Stores one provider event and applies its effect, by calling `record_webhook_event`
     * (migration 006, which explains the dedupe and the lock; 016 how it plans): one statement,
     * hence one transaction, shared with the events that arrive at the same time
     * (`WebhookBatching`). Resolves once that transaction has committed. An event for an unknown
     * email still gets its row, with no tenant and no email.
     */
    record(ev: IncomingWebhookEvent, effect: WebhookEffect): Promise<RecordedWebhookEvent> {
      const lane = lanes[laneOf(ev.emailId ?? ev.providerMessageId ?? ev.providerEventId, lanes.length)];
      return (lane as (typeof lanes)[number])(recordParams(ev, effect));
    },

    /**
     * Remembers a single-use token until it expires: 'new' the first time, 'same' when it was
     * seen with this fingerprint, 'conflict' when it came with another one.
     */
    async rememberToken(
      provider: string,
      token: string,
      fingerprint: string,
      ttlSeconds: number,
    ): Promise<'new' | 'same' | 'conflict'> {
      // Expired tokens are cleared now and then rather than on every call.
      if (Math.random() < 0.01) {
        await db.query(
          `DELETE FROM webhook_replay_tokens WHERE ctid IN (
             SELECT ctid FROM webhook_replay_tokens WHERE expires_at < now() LIMIT 1000)`,
        );
      }
      const ins = await db.query(
        `INSERT INTO webhook_replay_tokens (provider, token, fingerprint, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (provider, token) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, expires_at = EXCLUDED.expires_at
           WHERE webhook_replay_tokens.expires_at < now()
         RETURNING 1`,
        [provider, token, fingerprint, ttlSeconds],
      );
      if (ins.rowCount > 0) return 'new';
      const { rows } = await db.query<{ fingerprint: string }>(
        'SELECT fingerprint FROM webhook_replay_tokens WHERE provider = $1 AND token = $2',
        [provider, token],
      );
      return rows[0]?.fingerprint === fingerprint ? 'same' : 'conflict';
    },
  };
}
export type WebhooksRepository = ReturnType<typeof webhooksRepository>;
