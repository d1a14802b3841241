import type { BreakerState, ProviderBreaker } from '../breaker/provider-breaker.js';
import { isConnectionError } from '../db/database.js';
import type { ClaimedEmail, DeliveriesRepository } from '../db/deliveries.repository.js';
import { isAppError } from '../domain/errors.js';
import { canRetry, type RetryPolicy, retryDelayMs } from '../domain/retry-policy.js';
import { newId } from '../lib/ids.js';
import { microBatch } from '../lib/micro-batch.js';
import type {
  EmailProvider,
  OutgoingAttachment,
  OutgoingMessage,
  SendOutcome,
} from '../providers/email-provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { type Dispatcher, dispatchQuietly } from '../queue/dispatcher.js';
import { scheduledJob, sendJob } from '../queue/jobs.js';
import type { TemplateEngine } from '../templates/renderer.port.js';
import type { OutcomeJournal } from './outcome-journal.js';
import { renderChecked } from './rendering.js';
import type { DeliveryIdentity } from './senders.service.js';

export type DeliveryResult =
  | { kind: 'skipped' }
  | { kind: 'sent'; attempt: number }
  | { kind: 'retry'; attempt: number; delayMs: number }
  /** The provider failed or its breaker is open: back in the queue, no attempt spent. */
  | { kind: 'held'; attempt: number; delayMs: number }
  /** PostgreSQL went away mid-delivery: the outcome is kept in the journal until it is written. */
  | { kind: 'journaled'; attempt: number }
  /** Not claimed: its provider's breaker is open; it waits for the probe (no attempt, no event). */
  | { kind: 'waiting'; delayMs: number }
  | { kind: 'failed'; attempt: number; deadLetterId: string }
  | { kind: 'suppressed' }
  | { kind: 'cancelled' }
  | { kind: 'lost_claim' };

/** Observers of deliveries (metrics); they change nothing of what is sent. */
export interface DeliveryHooks {
  onOutcome?(email: ClaimedEmail, result: DeliveryResult, outcome?: SendOutcome): void;
}

export function deliveryService(deps: {
  deliveries: DeliveriesRepository;
  renderer: TemplateEngine;
  providers: ProviderRegistry;
  dispatcher: Dispatcher;
  retry: RetryPolicy;
  leaseSeconds: number;
  from: string;
  /** Who the email is from (its sender, DKIM key, envelope); absent: everything from `from`. */
  identity?: (email: ClaimedEmail) => Promise<DeliveryIdentity>;
  /** The email's attached files; `missing` names files whose content is no longer stored. */
  attachments?: (email: ClaimedEmail) => Promise<{ attachments: OutgoingAttachment[]; missing: string[] }>;
  hooks?: DeliveryHooks;
  /** Headers the email gains at delivery (one-click List-Unsubscribe: unsubscribe.service.ts). */
  listUnsubscribeHeaders?: (email: ClaimedEmail) => Promise<Record<string, string>>;
  /** The HTML part as it is sent (open/click tracking: tracking.service.ts); text is never changed. */
  trackHtml?: (email: ClaimedEmail, html: string) => Promise<string>;
  /**
   * Builds the message into the bytes a provider that takes MIME sends (the render pool does it
   * off the event loop); absent, or when it fails, the provider builds them itself.
   */
  mime?: (message: OutgoingMessage, tenantId: string) => Promise<Buffer>;
  /** Waits until the provider may take one more message (per-provider rate limit). */
  pace?: (provider: string) => Promise<void>;
  /** Chooses the provider of each attempt (failover.ts); absent: the email's own provider. */
  route?: (email: ClaimedEmail) => Promise<EmailProvider | undefined>;
  /**
   * Whether the tenant has fallback providers: then an email its provider could not take is
   * retried at once (through a fallback) instead of waiting for that provider's next probe.
   */
  hasFallbacks?: (tenantId: string) => Promise<boolean>;
  onDispatchError?: (e: unknown) => void;
  /** The circuit breaker per provider; absent: every provider is always tried. */
  breaker?: ProviderBreaker;
  /** An email waiting on a failing provider fails this long after acceptance (default 24 h). */
  maxRetryAgeSeconds?: number;
  /** The first hold when the breaker is not (yet) open: random(0, this). */
  providerRetryMs?: number;
  /** Where outcomes go that PostgreSQL could not take; absent: the error propagates. */
  journal?: OutcomeJournal;
  /** This worker process, recorded with its claims (heartbeats release a dead one's claims). */
  workerId?: string;
  /** Whether this worker's heartbeat is recent: if not, it neither claims nor sends. */
  heartbeatFresh?: () => Promise<boolean>;
}) {
  const hooks = deps.hooks ?? {};
  const maxAgeMs = (deps.maxRetryAgeSeconds ?? 86_400) * 1000;

  // The providers whose breaker refuses sends right now (open, or half-open with its probe
  // running), read at most every 250 ms: their mail is not even claimed.
  let blockedCache: { at: number; states: BreakerState[] } = { at: 0, states: [] };
  const blocked = async (): Promise<BreakerState[]> => {
    const breaker = deps.breaker;
    if (!breaker) return [];
    const now = Date.now();
    if (now - blockedCache.at < 250) return blockedCache.states;
    const states = await Promise.all(deps.providers.names().map((p) => breaker.state(p))).catch(() => []);
    const refusing = states.filter(
      (s) =>
        (s.state === 'open' && now < (s.retryAt ?? 0)) ||
        (s.state === 'half_open' && now < (s.probeUntil ?? 0)),
    );
    blockedCache = { at: now, states: refusing };
    return refusing;
  };

  const quietly = (dispatch: () => Promise<void>) => dispatchQuietly(dispatch, deps.onDispatchError);

  // Claims and sent outcomes of concurrent deliveries share statements: what arrives while one
  // statement is on its way goes out in the next (no added delay). Each row keeps its own
  // conditions and fencing token, so a batch decides exactly what the single statements would.
  const claim = microBatch<{ id: string; blocked: readonly string[] }, ClaimedEmail | null>({
    maxBatch: 100,
    maxInFlight: 2,
    run: async (requests) => {
      const byBlocked = new Map<string, string[]>();
      for (const r of requests) {
        const key = r.blocked.join('\n');
        byBlocked.set(key, [...(byBlocked.get(key) ?? []), r.id]);
      }
      const claimed = new Map<string, ClaimedEmail>();
      for (const [key, ids] of byBlocked) {
        const blocked = key === '' ? [] : key.split('\n');
        const rows = await claimBatch([...new Set(ids)], blocked);
        for (const row of rows) claimed.set(row.id, row);
      }
      // Two jobs for one email in the same batch: only the first gets the claim.
      return requests.map((r) => {
        const row = claimed.get(r.id) ?? null;
        claimed.delete(r.id);
        return row;
      });
    },
  });
  const claimBatch = async (ids: string[], blocked: string[]): Promise<ClaimedEmail[]> => {
    try {
      return await deps.deliveries.claimMany(ids, deps.leaseSeconds, deps.workerId ?? null, blocked);
    } catch (e) {
      // A statement that failed claimed nothing. Connection errors are every caller's (the job is
      // tried again); anything else is tried email by email, so one email's fault stays its own.
      if (ids.length === 1 || isConnectionError(e)) throw e;
      const one = await Promise.allSettled(
        ids.map((id) => deps.deliveries.claimMany([id], deps.leaseSeconds, deps.workerId ?? null, blocked)),
      );
      return one.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    }
  };
  type SentItem = Parameters<DeliveriesRepository['markSentMany']>[0][number];
  const recordSent = microBatch<SentItem, boolean>({
    maxBatch: 100,
    maxInFlight: 2,
    run: async (items) => {
      try {
        return await deps.deliveries.markSentMany(items);
      } catch (e) {
        // A statement that failed wrote nothing: connection errors go to every caller (each keeps
        // its outcome in the journal); anything else is written email by email.
        if (items.length === 1 || isConnectionError(e)) throw e;
        return Promise.all(
          items.map((i) =>
            deps.deliveries.markSent(i.id, i.attempt, {
              providerMessageId: i.providerMessageId,
              subject: i.subject,
              response: i.response,
            }),
          ),
        );
      }
    },
  });

  const fail = async (
    email: ClaimedEmail,
    error: string,
    reason: 'permanent' | 'retries_exhausted' | 'provider_unavailable',
  ) => {
    const deadLetterId = await deps.deliveries.markFailed(email.id, email.attempts, error, reason, newId());
    if (!deadLetterId) return { kind: 'lost_claim' } as const;
    await quietly(() =>
      deps.dispatcher.dispatch('mail.dlq', [
        { payload: { deadLetterId, emailId: email.id, tenantId: email.tenant_id }, jobId: deadLetterId },
      ]),
    );
    return { kind: 'failed', attempt: email.attempts, deadLetterId } as const;
  };

  const record = async (
    email: ClaimedEmail,
    subject: string,
    outcome: SendOutcome,
  ): Promise<DeliveryResult> => {
    if (outcome.kind === 'sent') {
      const ok = await recordSent({
        id: email.id,
        attempt: email.attempts,
        providerMessageId: outcome.providerMessageId,
        subject,
        response: outcome.response,
      });
      return ok ? { kind: 'sent', attempt: email.attempts } : { kind: 'lost_claim' };
    }
    if (outcome.kind === 'permanent') return fail(email, outcome.error, 'permanent');
    const unavailable = outcome.kind === 'unavailable';
    if (unavailable) {
      // The provider's budget: time since acceptance, not the message's attempts.
      const acceptedAt = Math.max(email.created_at.getTime(), email.send_at?.getTime() ?? 0);
      if (Date.now() - acceptedAt >= maxAgeMs) {
        return fail(
          email,
          `provider "${email.provider}" unavailable for longer than MAX_RETRY_AGE_SECONDS since acceptance: ${outcome.error}`,
          'provider_unavailable',
        );
      }
    } else if (!canRetry(deps.retry, email.attempts - email.provider_deferrals)) {
      return fail(email, outcome.error, 'retries_exhausted');
    }
    const messageAttempts = email.attempts - email.provider_deferrals;
    const delayMs = unavailable
      ? (await deps.hasFallbacks?.(email.tenant_id))
        ? Math.floor(Math.random() * Math.min(1000, deps.providerRetryMs ?? 1000))
        : await holdDelayMs(email.provider, outcome.retryAfterMs)
      : retryDelayMs(deps.retry, messageAttempts, Math.random, outcome.retryAfterMs);
    const retried = await deps.deliveries.markRetry(
      email.id,
      email.attempts,
      outcome.error,
      delayMs,
      unavailable,
    );
    if (retried === null) return { kind: 'lost_claim' };
    if (retried === 'cancelled') return { kind: 'cancelled' };
    await quietly(() =>
      deps.dispatcher.dispatch('mail.send', [
        sendJob(email.id, { attempts: email.attempts, delayMs, bulk: Boolean(email.bulk_job_id) }),
      ]),
    );
    return unavailable
      ? { kind: 'held', attempt: email.attempts, delayMs }
      : { kind: 'retry', attempt: email.attempts, delayMs };
  };

  /**
   * How long mail for a failing provider waits: until the breaker's next probe when it is open
   * (spread over one more pause, so the backlog does not stampede the probe), else a short
   * random wait; a provider's own "retry after" wins when longer.
   */
  const holdDelayMs = async (provider: string, retryAfterMs?: number): Promise<number> => {
    const base = deps.providerRetryMs ?? 1000;
    let delay = Math.floor(Math.random() * base);
    const s = await deps.breaker?.state(provider).catch(() => null);
    if (s && s.state !== 'closed' && s.retryAt !== null) {
      delay = Math.max(0, s.retryAt - Date.now()) + Math.floor(Math.random() * Math.max(base, s.pauseMs));
    }
    return Math.max(delay, retryAfterMs ?? 0);
  };

  /**
   * Records the outcome; if PostgreSQL fails meanwhile, the same write (same fencing token) is
   * kept in the journal and retried until it lands, so an accepted message is not sent again.
   */
  const recordOrKeep = async (
    email: ClaimedEmail,
    subject: string,
    outcome: SendOutcome,
  ): Promise<DeliveryResult> => {
    try {
      return await record(email, subject, outcome);
    } catch (e) {
      if (!deps.journal || !isConnectionError(e)) throw e;
      deps.journal.keep(`${outcome.kind} ${email.id}.${email.attempts}`, () =>
        record(email, subject, outcome),
      );
      return { kind: 'journaled', attempt: email.attempts };
    }
  };

  return {
    /**
     * One delivery attempt of one email: claim → suppression check → render → send → record.
     * Safe to call any number of times for the same id: only the holder of the claim sends.
     */
    async deliver(emailId: string): Promise<DeliveryResult> {
      // The job is tried again later (the dispatcher's handler retries, then the recovery loop).
      if (deps.heartbeatFresh && !(await deps.heartbeatFresh()))
        throw new Error('worker heartbeat is stale: not claiming');
      const refusing = await blocked();
      const claimedAt = performance.now();
      const email = await claim({ id: emailId, blocked: refusing.map((s) => s.provider) });
      if (!email) {
        if (refusing.length === 0) return { kind: 'skipped' };
        // Perhaps not claimed because its provider's breaker is open: then it waits for the
        // probe, spread over one more pause, with a job of its own for that time.
        const now = Date.now();
        const held = await deps.deliveries.holdForProvider(
          emailId,
          refusing.map((s) => ({
            provider: s.provider,
            delayMs:
              Math.max(0, (s.state === 'open' ? (s.retryAt ?? now) : (s.probeUntil ?? now)) - now) +
              Math.floor(Math.random() * Math.max(deps.providerRetryMs ?? 1000, s.pauseMs)),
          })),
        );
        if (!held) return { kind: 'skipped' };
        await quietly(() =>
          deps.dispatcher.dispatch('mail.send', [
            sendJob(emailId, {
              attempts: held.attempts,
              suffix: `h${now}`,
              delayMs: held.delayMs,
              bulk: held.bulk,
            }),
          ]),
        );
        return { kind: 'waiting', delayMs: held.delayMs };
      }
      try {
        return await this.deliverClaimed(email, claimedAt);
      } catch (e) {
        // PostgreSQL went away before anything was sent: hand the claim back (without spending
        // an attempt) as soon as it answers, rather than leave the email to its lease. Other
        // errors are bugs: they propagate as before.
        if (!deps.journal || !isConnectionError(e)) throw e;
        const handBack: SendOutcome = {
          kind: 'unavailable',
          error: `delivery interrupted: ${e instanceof Error ? e.message : String(e)}`,
        };
        const retry = () =>
          deps.deliveries.markRetry(email.id, email.attempts, handBack.error, 500, true).then((r) =>
            r === 'queued'
              ? deps.dispatcher.dispatch('mail.send', [
                  sendJob(email.id, {
                    attempts: email.attempts,
                    delayMs: 500,
                    bulk: Boolean(email.bulk_job_id),
                  }),
                ])
              : undefined,
          );
        deps.journal.keep(`hand back ${email.id}.${email.attempts}`, retry);
        return { kind: 'journaled', attempt: email.attempts };
      }
    },

    /** Everything after the claim: suppression, identity, render, breaker, send, record. */
    async deliverClaimed(email: ClaimedEmail, claimedAt?: number): Promise<DeliveryResult> {
      // The claim reads the suppression list in the same statement: an address suppressed after
      // the email was accepted is caught here, and nothing is sent.
      if (email.suppressed_reason) {
        const ok = await deps.deliveries.markSuppressed(email.id, email.attempts, email.suppressed_reason);
        const result: DeliveryResult = ok ? { kind: 'suppressed' } : { kind: 'lost_claim' };
        hooks.onOutcome?.(email, result);
        return result;
      }

      // A sender whose domain lost its verification since acceptance is not sent as anyone
      // else: the email waits (retried with backoff) for the domain to verify again.
      const identity: DeliveryIdentity = deps.identity
        ? await deps.identity(email)
        : { kind: 'ok', from: deps.from };
      if (identity.kind !== 'ok') {
        const result = await record(email, email.subject ?? '', { kind: 'transient', error: identity.error });
        hooks.onOutcome?.(email, result);
        return result;
      }

      const files =
        deps.attachments && email.has_attachments !== false ? await deps.attachments(email) : null;
      if (files?.missing.length) {
        const result = await fail(
          email,
          `attachment content no longer stored: ${files.missing.join(', ')}`,
          'permanent',
        );
        hooks.onOutcome?.(email, result);
        return result;
      }
      let message: OutgoingMessage;
      try {
        const rendered = await renderChecked(
          deps.renderer,
          { ...email, version: email.template_version },
          { ...email.shared_variables, ...email.variables },
        );
        const extra = (await deps.listUnsubscribeHeaders?.(email)) ?? {};
        message = {
          messageId: email.message_id,
          from: identity.from,
          to: { email: email.recipient_email, name: email.recipient_name },
          subject: rendered.subject,
          html: deps.trackHtml ? await deps.trackHtml(email, rendered.html) : rendered.html,
          text: rendered.text,
          headers: { ...email.headers, ...extra },
          ...(identity.replyTo ? { replyTo: identity.replyTo } : {}),
          ...(identity.dkim ? { dkim: identity.dkim } : {}),
          ...(identity.envelopeFrom ? { envelopeFrom: identity.envelopeFrom } : {}),
          ...(files?.attachments.length ? { attachments: files.attachments } : {}),
        };
      } catch (e) {
        // Versions are immutable and were rendered at acceptance; a failure here is the data's
        // fault (a bulk recipient's variables), so retrying cannot help.
        if (!isAppError(e)) throw e;
        const result = await fail(email, `render failed: ${e.message}`, 'permanent');
        hooks.onOutcome?.(email, result);
        return result;
      }

      // The provider of this attempt: the email's own, or a tenant's fallback (failover.ts).
      const provider = deps.route ? await deps.route(email) : deps.providers.get(email.provider);
      // An open breaker: the email goes back to the queue without spending an attempt.
      if (provider && deps.breaker && !(await deps.breaker.allows(provider.name))) {
        const refused: SendOutcome = {
          kind: 'unavailable',
          error: `waiting on provider "${provider.name}" (circuit breaker open)`,
        };
        const held = await record(email, message.subject, refused);
        hooks.onOutcome?.(email, held, refused);
        return held;
      }
      if (provider?.takesMime && deps.mime) {
        const raw = await deps.mime(message, email.tenant_id).catch(() => undefined);
        if (raw) message = { ...message, raw };
      }
      if (provider && deps.pace) {
        await deps.pace(provider.name);
        // Waiting for the provider's pace may have outlived the lease, and another worker may
        // hold the email now: renew the claim, and send only if it still holds. Right after the
        // claim (less than a twentieth of the lease, at most a second, since it was asked for)
        // the lease PostgreSQL gave is known to run for nearly all of LEASE_SECONDS still, so
        // there is nothing to renew.
        const fresh =
          claimedAt !== undefined &&
          performance.now() - claimedAt < Math.min(1000, (deps.leaseSeconds * 1000) / 20);
        if (!fresh && !(await deps.deliveries.renewClaim(email.id, email.attempts, deps.leaseSeconds))) {
          const lost: DeliveryResult = { kind: 'lost_claim' };
          hooks.onOutcome?.(email, lost);
          return lost;
        }
      }
      // The recovery leader may have released this claim if our heartbeat went stale: hand the
      // email back rather than risk a second send.
      if (deps.heartbeatFresh && !(await deps.heartbeatFresh())) {
        const result = await record(email, message.subject, {
          kind: 'unavailable',
          error: 'worker heartbeat went stale before the send; handed back',
        });
        hooks.onOutcome?.(email, result);
        return result;
      }
      const outcome: SendOutcome = provider
        ? await provider.send(message)
        : { kind: 'transient', error: `provider "${email.provider}" is not configured in this worker` };
      if (provider && deps.breaker) {
        await deps.breaker
          .record(provider.name, outcome.kind === 'unavailable' ? 'failure' : 'success')
          .catch(() => {});
      }
      const result = await recordOrKeep(email, message.subject, outcome);
      hooks.onOutcome?.(email, result, outcome);
      return result;
    },

    /** Promotes a scheduled email whose time has come and dispatches its send. */
    async promote(emailId: string): Promise<boolean> {
      const moved = await deps.deliveries.promoteScheduled(emailId);
      if (moved) {
        await quietly(() => deps.dispatcher.dispatch('mail.send', [sendJob(emailId)]));
        return true;
      }
      // A timer that fired a little early (clocks differ by milliseconds): wait for the rest.
      const dueInMs = await deps.deliveries.scheduledDueInMs(emailId);
      if (dueInMs !== null) {
        await quietly(() =>
          deps.dispatcher.dispatch('mail.scheduled', [scheduledJob(emailId, dueInMs + 5, true)]),
        );
      }
      return false;
    },
  };
}
export type DeliveryService = ReturnType<typeof deliveryService>;
