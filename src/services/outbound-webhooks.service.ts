import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { CursorKey } from '../db/cursor.js';
import type {
  AttemptOutcome,
  ClaimedDelivery,
  DeliveryRow,
  EndpointPatch,
  EndpointRow,
  OutboundWebhooksRepository,
} from '../db/outbound-webhooks.repository.js';
import { AppError } from '../domain/errors.js';
import {
  isRetryableWebhookFailure,
  isWebhookEventType,
  WEBHOOK_DISABLE_AFTER_SECONDS,
  WEBHOOK_SECRET_GRACE_SECONDS,
  WEBHOOK_TEST_EVENT,
} from '../domain/webhook-events.js';
import { isUuid, newId } from '../lib/ids.js';
import type { OutboundHttp } from '../lib/outbound-http.js';
import { keyFingerprint, open, seal } from '../lib/secret-box.js';
import { type Dispatcher, dispatchQuietly } from '../queue/dispatcher.js';
import { webhookJobId } from '../queue/jobs.js';

const MAX_RESPONSE_BYTES = 1024;
const RELAY_PAGE = 1000;

export interface EndpointView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveryView {
  id: string;
  endpoint_id: string;
  type: string;
  email_id: string | null;
  status: DeliveryRow['status'];
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  last_response: string | null;
  last_latency_ms: number | null;
  payload: Record<string, unknown>;
  created_at: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const endpointView = (r: EndpointRow): EndpointView => ({
  id: r.id,
  url: r.url,
  description: r.description,
  events: r.events,
  enabled: r.enabled,
  disabled_reason: r.disabled_reason,
  failing_since: iso(r.failing_since),
  previous_secret_expires_at:
    r.previous_secret_expires_at && r.previous_secret_expires_at > new Date()
      ? r.previous_secret_expires_at.toISOString()
      : null,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export const deliveryView = (r: DeliveryRow): DeliveryView => ({
  id: r.id,
  endpoint_id: r.endpoint_id,
  type: r.type,
  email_id: r.email_id,
  status: r.status,
  attempts: r.attempts,
  next_attempt_at: iso(r.next_attempt_at),
  last_attempt_at: iso(r.last_attempt_at),
  last_status: r.last_status,
  last_error: r.last_error,
  last_response: r.last_response,
  last_latency_ms: r.last_latency_ms,
  payload: r.payload,
  created_at: r.created_at.toISOString(),
});

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64 (as Svix issues them). */
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;

/**
 * Tenant event webhooks: the endpoints a tenant registers, and the delivery of the outbox rows
 * that migration 013's triggers write beside every reported event.
 *
 * Delivery: the relay (a worker loop) moves due rows into `mail.webhooks` by id; a job claims its
 * row in PostgreSQL (lease + attempt count, and only when no earlier event of the same email is
 * still pending for that endpoint), POSTs the payload signed per Standard Webhooks, and records
 * the outcome, fenced by the attempt count. A lost job (Redis flushed, process killed) leaves the
 * row pending and due, and the relay dispatches it again; a job that runs twice finds it claimed.
 */
export function outboundWebhooksService(deps: {
  repo: OutboundWebhooksRepository;
  /**
   * What seals signing secrets at rest: SECRETS_KEY when set, else a key kept in PostgreSQL (as
   * for DKIM keys outside production). Sealed values name the key that sealed them.
   */
  sealing: { configured: Buffer | null; stored: () => Promise<Buffer> };
  dispatcher: Dispatcher;
  http: OutboundHttp;
  urlProblem: (url: string) => Promise<string | null>;
  timeoutMs: number;
  retryScheduleSeconds: readonly number[];
  /** How long a dispatched delivery may stay pending before the relay assumes its job was lost. */
  redispatchGraceSeconds: number;
  onDispatchError?: (e: unknown) => void;
}) {
  const { repo } = deps;
  // Longer than one attempt can take (its timeout) plus recording it; a worker that died while
  // holding a delivery (kill -9) delays it by about this much.
  const leaseSeconds = Math.ceil(deps.timeoutMs / 1000) + 10;

  const dispatch = async (jobs: { id: string; next_attempt_at: Date }[], delayMs = 0) => {
    if (jobs.length === 0) return;
    await dispatchQuietly(
      () =>
        deps.dispatcher.dispatch(
          'mail.webhooks',
          jobs.map((j) => ({
            payload: { deliveryId: j.id },
            jobId: webhookJobId(j.id, j.next_attempt_at),
            ...(delayMs > 0 ? { delayMs } : {}),
          })),
        ),
      deps.onDispatchError,
    );
  };

  // `sealed:<key ref>:<base64 box>`, bound to the endpoint (a box copied to another row does not
  // open). A plain `whsec_…` (written by hand) is used as it is.
  const configuredRef = deps.sealing.configured ? keyFingerprint(deps.sealing.configured) : null;
  const keyFor = async (ref: string): Promise<Buffer> => {
    if (ref === 'db') return deps.sealing.stored();
    if (ref === configuredRef && deps.sealing.configured) return deps.sealing.configured;
    throw new Error(`a webhook secret was sealed with another SECRETS_KEY (${ref})`);
  };
  const sealSecret = async (endpointId: string, secret: string) => {
    const ref = configuredRef ?? 'db';
    const box = seal(await keyFor(ref), secret, `webhook-endpoint:${endpointId}`);
    return `sealed:${ref}:${box.toString('base64')}`;
  };
  const openSecret = async (endpointId: string, stored: string) => {
    const m = /^sealed:([^:]+):(.+)$/.exec(stored);
    if (!m) return stored;
    const box = Buffer.from(m[2] as string, 'base64');
    return open(await keyFor(m[1] as string), box, `webhook-endpoint:${endpointId}`).toString('utf8');
  };

  const checkUrl = async (url: string) => {
    const problem = await deps.urlProblem(url);
    if (problem) {
      throw new AppError('invalid_webhook_url', `The webhook URL ${problem}`, [
        { field: 'url', message: problem },
      ]);
    }
  };

  const checkEvents = (events: string[]) => {
    const bad = events.filter((e) => e !== '*' && !isWebhookEventType(e));
    if (bad.length > 0) {
      throw new AppError(
        'validation_failed',
        undefined,
        bad.map((e) => ({ field: 'events', message: `unknown event type "${e}"` })),
      );
    }
    return [...new Set(events)];
  };

  const endpointOf = async (tenantId: string, id: string) => {
    const row = isUuid(id) ? await repo.getEndpoint(tenantId, id) : null;
    if (!row) throw new AppError('webhook_endpoint_not_found');
    return row;
  };

  const sign = async (d: ClaimedDelivery, body: string, at: Date): Promise<string> => {
    const secrets = [await openSecret(d.endpoint_id, d.secret)];
    // A previous secret sealed with a key this install no longer has (SECRETS_KEY changed, then
    // the secret rotated) is left out rather than stopping every delivery for a day.
    if (d.previous_secret) {
      const previous = await openSecret(d.endpoint_id, d.previous_secret).catch(() => null);
      if (previous) secrets.push(previous);
    }
    return secrets.map((s) => new Webhook(s).sign(d.id, at, body)).join(' ');
  };

  const attempt = async (d: ClaimedDelivery): Promise<AttemptOutcome> => {
    const body = JSON.stringify(d.payload);
    const at = new Date();
    const r = await deps.http.post({
      url: d.url,
      body,
      timeoutMs: deps.timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Mailsystem-Webhooks/1.0',
        'webhook-id': d.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': await sign(d, body, at),
      },
    });
    const nextDelay = deps.retryScheduleSeconds[d.attempts] ?? null;
    if (r.kind === 'response') {
      if (r.status >= 200 && r.status < 300) {
        return { kind: 'succeeded', status: r.status, response: r.body, latencyMs: r.latencyMs };
      }
      return {
        kind: 'failed',
        status: r.status,
        error: `HTTP ${r.status}`,
        response: r.body,
        latencyMs: r.latencyMs,
        retryInSeconds: isRetryableWebhookFailure(r.status) ? nextDelay : null,
      };
    }
    return {
      kind: 'failed',
      status: null,
      error: r.refused ? `refused: ${r.error}` : r.error,
      response: null,
      latencyMs: r.latencyMs,
      retryInSeconds: r.refused ? null : nextDelay,
    };
  };

  return {
    /** The retention loop's step: finished deliveries past WEBHOOK_DELIVERY_RETENTION_DAYS go. */
    purge: (retentionDays: number) => repo.purgeFinished(retentionDays),
    async create(
      tenantId: string,
      input: { url: string; events: string[]; description?: string | null | undefined },
    ): Promise<EndpointView & { secret: string }> {
      const events = checkEvents(input.events);
      await checkUrl(input.url);
      const secret = newSecret();
      const id = newId();
      const row = await repo.createEndpoint({
        id,
        tenantId,
        url: input.url,
        description: input.description ?? null,
        events,
        secret: await sealSecret(id, secret),
      });
      return { ...endpointView(row), secret };
    },

    async list(tenantId: string, limit: number, after: CursorKey | null) {
      return repo.listEndpoints(tenantId, limit, after);
    },

    async get(tenantId: string, id: string): Promise<EndpointView> {
      return endpointView(await endpointOf(tenantId, id));
    },

    async update(tenantId: string, id: string, patch: EndpointPatch): Promise<EndpointView> {
      if (patch.events) patch = { ...patch, events: checkEvents(patch.events) };
      await endpointOf(tenantId, id);
      if (patch.url !== undefined) await checkUrl(patch.url);
      const row = await repo.updateEndpoint(tenantId, id, patch);
      if (!row) throw new AppError('webhook_endpoint_not_found');
      return endpointView(row);
    },

    async remove(tenantId: string, id: string): Promise<void> {
      if (!isUuid(id) || !(await repo.deleteEndpoint(tenantId, id)))
        throw new AppError('webhook_endpoint_not_found');
    },

    async rotateSecret(tenantId: string, id: string): Promise<EndpointView & { secret: string }> {
      await endpointOf(tenantId, id);
      const secret = newSecret();
      const row = await repo.rotateSecret(
        tenantId,
        id,
        await sealSecret(id, secret),
        WEBHOOK_SECRET_GRACE_SECONDS,
      );
      if (!row) throw new AppError('webhook_endpoint_not_found');
      return { ...endpointView(row), secret };
    },

    /** A `webhook.test` event, through the same outbox, queue and signature as any other. */
    async sendTest(tenantId: string, id: string): Promise<DeliveryView> {
      const ep = await endpointOf(tenantId, id);
      const row = await repo.insertDelivery(tenantId, ep.id, WEBHOOK_TEST_EVENT, {
        type: WEBHOOK_TEST_EVENT,
        created_at: new Date().toISOString(),
        data: { endpoint_id: ep.id, message: 'A test event from Mailsystem' },
      });
      await dispatch([{ id: row.id, next_attempt_at: row.next_attempt_at ?? new Date() }]);
      return deliveryView(row);
    },

    async deliveries(tenantId: string, endpointId: string, limit: number, after: CursorKey | null) {
      await endpointOf(tenantId, endpointId);
      return repo.listDeliveries(tenantId, endpointId, limit, after);
    },

    async retryDelivery(tenantId: string, endpointId: string, deliveryId: string): Promise<DeliveryView> {
      const ep = await endpointOf(tenantId, endpointId);
      if (!isUuid(deliveryId)) throw new AppError('webhook_delivery_not_found');
      // A disabled endpoint is sent nothing; the delivery would wait until it is enabled.
      if (!ep.enabled) throw new AppError('conflict', 'The endpoint is disabled: enable it before retrying');
      const r = await repo.retryDelivery(tenantId, endpointId, deliveryId);
      if (r === null) throw new AppError('webhook_delivery_not_found');
      if (r === 'pending') throw new AppError('webhook_delivery_pending');
      await dispatch([{ id: r.id, next_attempt_at: r.next_attempt_at ?? new Date() }]);
      return deliveryView(r);
    },

    /** One attempt of one delivery (the mail.webhooks job). Harmless when run twice or late. */
    async deliver(deliveryId: string): Promise<'sent' | 'retry' | 'failed' | 'skipped'> {
      const d = await repo.claim(deliveryId, leaseSeconds);
      if (!d) return 'skipped';
      const outcome = await attempt(d);
      const r = await repo.recordAttempt(
        {
          id: d.id,
          endpointId: d.endpoint_id,
          emailId: d.email_id,
          eventId: d.event_id,
          attempts: d.attempts,
        },
        outcome,
        WEBHOOK_DISABLE_AFTER_SECONDS,
      );
      if (!r.recorded) return 'skipped';
      if (r.nextDueAt) {
        await dispatch(
          [{ id: d.id, next_attempt_at: r.nextDueAt }],
          Math.max(0, r.nextDueAt.getTime() - Date.now()),
        );
        return 'retry';
      }
      // Finished: the next event of the same email may go now.
      if (d.email_id && !r.disabled) {
        const next = await repo.nextInOrder(d.endpoint_id, d.email_id);
        if (next) await dispatch([next]);
      }
      return outcome.kind === 'succeeded' ? 'sent' : 'failed';
    },

    /**
     * The relay: dispatches due deliveries that are not in the queue (new outbox rows, and rows
     * whose job was lost) by id. Job ids name the row and the time it became due, so a job that is
     * still queued is not doubled.
     */
    async relay(): Promise<number> {
      let total = 0;
      for (let i = 0; i < 50; i++) {
        const due = await repo.takeDue(RELAY_PAGE, deps.redispatchGraceSeconds);
        await dispatch(due);
        total += due.length;
        if (due.length < RELAY_PAGE) break;
      }
      return total;
    },
  };
}
export type OutboundWebhooksService = ReturnType<typeof outboundWebhooksService>;
