import type { CursorKey } from './cursor.js';
import type { Database, Queryable } from './database.js';

export interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
  created_at: Date;
  updated_at: Date;
  cursor_ts: string;
}

export interface DeliveryRow {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: number | null;
  email_id: string | null;
  type: string;
  payload: Record<string, unknown>;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  last_latency_ms: number | null;
  created_at: Date;
  cursor_ts: string;
}

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery extends DeliveryRow {
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

export interface EndpointPatch {
  url?: string;
  description?: string | null;
  events?: string[];
  enabled?: boolean;
}

export type AttemptOutcome =
  | { kind: 'succeeded'; status: number; response: string; latencyMs: number }
  | {
      kind: 'failed';
      status: number | null;
      error: string;
      response: string | null;
      latencyMs: number;
      /** Seconds until the next attempt; null: no more attempts. */
      retryInSeconds: number | null;
    };

const ENDPOINT = 'SELECT w.*, w.created_at::text AS cursor_ts FROM webhook_endpoints w';
const DELIVERY_COLUMNS = `d.id, d.tenant_id, d.endpoint_id, d.event_id, d.email_id, d.type, d.payload, d.status,
  d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error, d.last_response,
  d.last_latency_ms, d.created_at, d.created_at::text AS cursor_ts`;

/** A delivery that may go now: nothing earlier for the same email and endpoint still waits. */
const IN_ORDER = `NOT EXISTS (
  SELECT 1 FROM webhook_deliveries p
   WHERE p.endpoint_id = d.endpoint_id AND p.email_id = d.email_id AND p.status = 'pending'
     AND p.event_id < d.event_id)`;

/** Pending deliveries of a disabled endpoint are given up (POST …/retry sends one again). */
const giveUpPending = (q: Queryable, endpointId: string, reason: string) =>
  q.query(
    `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, last_error = $2, updated_at = now()
      WHERE endpoint_id = $1 AND status = 'pending'`,
    [endpointId, reason],
  );

export function outboundWebhooksRepository(db: Database) {
  return {
    /**
     * Removes finished deliveries (succeeded or failed) created more than `retentionDays` ago, at
     * most `limit` per call; pending ones stay whatever their age. Returns how many went.
     */
    async purgeFinished(retentionDays: number, limit = 1000): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM webhook_deliveries WHERE id IN (
           SELECT id FROM webhook_deliveries
            WHERE status <> 'pending' AND created_at < now() - make_interval(secs => $1 * 86400)
            ORDER BY created_at LIMIT $2)`,
        [retentionDays, limit],
      );
      return rowCount ?? 0;
    },

    async createEndpoint(e: {
      id: string;
      tenantId: string;
      url: string;
      description: string | null;
      events: string[];
      secret: string;
    }): Promise<EndpointRow> {
      const { rows } = await db.query<EndpointRow>(
        `INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, secret)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *, created_at::text AS cursor_ts`,
        [e.id, e.tenantId, e.url, e.description, e.events, e.secret],
      );
      return rows[0] as EndpointRow;
    },

    async listEndpoints(tenantId: string, limit: number, after: CursorKey | null): Promise<EndpointRow[]> {
      const { rows } = await db.query<EndpointRow>(
        `${ENDPOINT} WHERE w.tenant_id = $1
           AND ($2::timestamptz IS NULL OR (w.created_at, w.id) < ($2::timestamptz, $3::uuid))
         ORDER BY w.created_at DESC, w.id DESC LIMIT $4`,
        [tenantId, after?.ts ?? null, after?.id ?? null, limit + 1],
      );
      return rows;
    },

    async getEndpoint(tenantId: string, id: string): Promise<EndpointRow | null> {
      const { rows } = await db.query<EndpointRow>(`${ENDPOINT} WHERE w.tenant_id = $1 AND w.id = $2`, [
        tenantId,
        id,
      ]);
      return rows[0] ?? null;
    },

    async updateEndpoint(tenantId: string, id: string, p: EndpointPatch): Promise<EndpointRow | null> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<EndpointRow>(
          `UPDATE webhook_endpoints w SET
             url = COALESCE($3, w.url),
             description = CASE WHEN $4::boolean THEN $5 ELSE w.description END,
             events = COALESCE($6, w.events),
             enabled = COALESCE($7, w.enabled),
             disabled_reason = CASE WHEN $7 IS NULL THEN w.disabled_reason
                                    WHEN $7 THEN NULL ELSE 'disabled by the tenant' END,
             failing_since = CASE WHEN $7 THEN NULL ELSE w.failing_since END,
             updated_at = now()
           WHERE w.tenant_id = $1 AND w.id = $2
           RETURNING w.*, w.created_at::text AS cursor_ts`,
          [
            tenantId,
            id,
            p.url ?? null,
            p.description !== undefined,
            p.description ?? null,
            p.events ?? null,
            p.enabled ?? null,
          ],
        );
        const row = rows[0];
        if (row && p.enabled === false) await giveUpPending(tx, id, 'endpoint disabled');
        return row ?? null;
      });
    },

    async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
      const r = await db.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        id,
      ]);
      return r.rowCount > 0;
    },

    /** A new secret; the current one keeps signing beside it for `graceSeconds`. */
    async rotateSecret(
      tenantId: string,
      id: string,
      secret: string,
      graceSeconds: number,
    ): Promise<EndpointRow | null> {
      const { rows } = await db.query<EndpointRow>(
        `UPDATE webhook_endpoints w SET previous_secret = w.secret, secret = $3,
                previous_secret_expires_at = now() + make_interval(secs => $4), updated_at = now()
          WHERE w.tenant_id = $1 AND w.id = $2
          RETURNING w.*, w.created_at::text AS cursor_ts`,
        [tenantId, id, secret, graceSeconds],
      );
      return rows[0] ?? null;
    },

    async insertDelivery(
      tenantId: string,
      endpointId: string,
      type: string,
      payload: unknown,
    ): Promise<DeliveryRow> {
      const { rows } = await db.query<DeliveryRow>(
        `INSERT INTO webhook_deliveries AS d (tenant_id, endpoint_id, type, payload, dispatched_at)
         VALUES ($1, $2, $3, $4, now()) RETURNING ${DELIVERY_COLUMNS}`,
        [tenantId, endpointId, type, JSON.stringify(payload)],
      );
      return rows[0] as DeliveryRow;
    },

    async listDeliveries(
      tenantId: string,
      endpointId: string,
      limit: number,
      after: CursorKey | null,
    ): Promise<DeliveryRow[]> {
      const { rows } = await db.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries d
          WHERE d.tenant_id = $1 AND d.endpoint_id = $2
            AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3::timestamptz, $4::uuid))
          ORDER BY d.created_at DESC, d.id DESC LIMIT $5`,
        [tenantId, endpointId, after?.ts ?? null, after?.id ?? null, limit + 1],
      );
      return rows;
    },

    /** Sends a finished delivery again from the first step of the schedule. */
    async retryDelivery(
      tenantId: string,
      endpointId: string,
      id: string,
    ): Promise<DeliveryRow | 'pending' | null> {
      const { rows } = await db.query<DeliveryRow>(
        `UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, next_attempt_at = now(),
                lease_until = NULL, dispatched_at = now(), updated_at = now()
          WHERE d.tenant_id = $1 AND d.endpoint_id = $2 AND d.id = $3
            AND d.status <> 'pending'
          RETURNING ${DELIVERY_COLUMNS}`,
        [tenantId, endpointId, id],
      );
      if (rows[0]) return rows[0];
      const exists = await db.query(
        'SELECT 1 FROM webhook_deliveries WHERE tenant_id = $1 AND endpoint_id = $2 AND id = $3',
        [tenantId, endpointId, id],
      );
      return exists.rowCount > 0 ? 'pending' : null;
    },

    /**
     * Marks and answers deliveries due now that are not in the queue: never dispatched, or
     * dispatched more than `graceSeconds` ago and still pending (the job was lost). Only those
     * whose endpoint is enabled and whose email has no earlier event pending for that endpoint.
     */
    async takeDue(limit: number, graceSeconds: number): Promise<{ id: string; next_attempt_at: Date }[]> {
      const { rows } = await db.query<{ id: string; next_attempt_at: Date }>(
        `UPDATE webhook_deliveries t SET dispatched_at = now()
          WHERE t.id IN (
            SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
             WHERE d.status = 'pending' AND d.next_attempt_at <= now()
               AND (d.dispatched_at IS NULL OR d.dispatched_at < now() - make_interval(secs => $2))
               AND (d.lease_until IS NULL OR d.lease_until < now())
               AND ${IN_ORDER}
             ORDER BY d.next_attempt_at LIMIT $1
             FOR UPDATE OF d SKIP LOCKED)
          RETURNING t.id, t.next_attempt_at`,
        [limit, graceSeconds],
      );
      return rows;
    },

    /**
     * Takes one due delivery for `leaseSeconds` and counts the attempt; null when it is not due,
     * taken by another worker, waiting for an earlier event of its email, or its endpoint is off.
     */
    async claim(id: string, leaseSeconds: number): Promise<ClaimedDelivery | null> {
      const { rows } = await db.query<ClaimedDelivery>(
        `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, lease_until = now() + make_interval(secs => $2),
                updated_at = now()
           FROM webhook_endpoints w
          WHERE d.id = $1 AND w.id = d.endpoint_id AND w.enabled
            AND d.status = 'pending' AND d.next_attempt_at <= now()
            AND (d.lease_until IS NULL OR d.lease_until < now())
            AND ${IN_ORDER}
          RETURNING ${DELIVERY_COLUMNS}, w.url, w.secret,
                    CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END AS previous_secret,
                    w.previous_secret_expires_at`,
        [id, leaseSeconds],
      );
      return rows[0] ?? null;
    },

    /**
     * Records one attempt, fenced by `attempts`. A failure starts (or continues) the endpoint's
     * failing run, and disables it once the run is older than `disableAfterSeconds`. Answers the
     * deliveries that may go now because this one finished or moved (the next event of its email).
     */
    async recordAttempt(
      d: { id: string; endpointId: string; emailId: string | null; eventId: number | null; attempts: number },
      o: AttemptOutcome,
      disableAfterSeconds: number,
    ): Promise<{ recorded: boolean; disabled: boolean; nextDueAt: Date | null }> {
      return db.transaction(async (tx) => {
        const ok = o.kind === 'succeeded';
        const retryIn = o.kind === 'failed' ? o.retryInSeconds : null;
        const { rows } = await tx.query<{ next_attempt_at: Date | null }>(
          `UPDATE webhook_deliveries SET
              status = CASE WHEN $3 THEN 'succeeded' WHEN $4::double precision IS NULL THEN 'failed' ELSE 'pending' END,
              next_attempt_at = CASE WHEN $3 OR $4::double precision IS NULL THEN NULL
                                     ELSE now() + make_interval(secs => $4::double precision) END,
              dispatched_at = CASE WHEN $3 OR $4::double precision IS NULL THEN dispatched_at
                                   ELSE now() + make_interval(secs => $4::double precision) END,
              lease_until = NULL, last_attempt_at = now(), last_status = $5, last_error = $6,
              last_response = $7, last_latency_ms = $8, updated_at = now()
            WHERE id = $1 AND attempts = $2 AND status = 'pending'
            RETURNING next_attempt_at`,
          [d.id, d.attempts, ok, retryIn, o.status, ok ? null : o.error, o.response, o.latencyMs],
        );
        const row = rows[0];
        if (!row) return { recorded: false, disabled: false, nextDueAt: null };
        // The events after this one for the same email wait at least as long (kept in order, and
        // kept off the head of the relay's scan).
        if (row.next_attempt_at && d.emailId && d.eventId) {
          await tx.query(
            `UPDATE webhook_deliveries SET next_attempt_at = greatest(next_attempt_at, $4)
              WHERE endpoint_id = $1 AND email_id = $2 AND status = 'pending' AND event_id > $3`,
            [d.endpointId, d.emailId, d.eventId, row.next_attempt_at],
          );
        }
        const ep = await tx.query<{ enabled: boolean }>(
          `UPDATE webhook_endpoints SET
              failing_since = CASE WHEN $2 THEN NULL ELSE COALESCE(failing_since, now()) END,
              enabled = enabled AND ($2 OR COALESCE(failing_since, now()) > now() - make_interval(secs => $3)),
              disabled_reason = CASE
                WHEN enabled AND NOT $2 AND COALESCE(failing_since, now()) <= now() - make_interval(secs => $3)
                THEN 'every attempt failed since ' || to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
                     || '; last: ' || $4
                ELSE disabled_reason END
            WHERE id = $1 RETURNING enabled`,
          [d.endpointId, ok, disableAfterSeconds, ok ? '' : o.error],
        );
        const disabled = ep.rows[0]?.enabled === false;
        if (disabled) await giveUpPending(tx, d.endpointId, 'endpoint disabled after failing for days');
        return { recorded: true, disabled, nextDueAt: row.next_attempt_at };
      });
    },

    /** The next pending event of the same email for the same endpoint, when it is due. */
    async nextInOrder(
      endpointId: string,
      emailId: string,
    ): Promise<{ id: string; next_attempt_at: Date } | null> {
      const { rows } = await db.query<{ id: string; next_attempt_at: Date }>(
        `SELECT d.id, d.next_attempt_at FROM webhook_deliveries d
          WHERE d.endpoint_id = $1 AND d.email_id = $2 AND d.status = 'pending'
          ORDER BY d.event_id LIMIT 1`,
        [endpointId, emailId],
      );
      const r = rows[0];
      return r && r.next_attempt_at.getTime() <= Date.now() ? r : null;
    },
  };
}
export type OutboundWebhooksRepository = ReturnType<typeof outboundWebhooksRepository>;
