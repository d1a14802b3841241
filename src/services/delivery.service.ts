import type { ClaimedEmail, EmailsRepository } from '../db/emails.repository.js';
import { isAppError } from '../domain/errors.js';
import { canRetry, type RetryPolicy, retryDelayMs } from '../domain/retry-policy.js';
import { newId } from '../lib/ids.js';
import type { OutgoingMessage, SendOutcome } from '../providers/email-provider.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import { BULK_PRIORITY, sendJobId } from '../queue/jobs.js';
import type { TemplateRenderer } from '../templates/renderer.js';
import { renderChecked } from './rendering.js';
import type { DeliveryIdentity } from './senders.service.js';

export type DeliveryResult =
  | { kind: 'skipped' }
  | { kind: 'sent'; attempt: number }
  | { kind: 'retry'; attempt: number; delayMs: number }
  | { kind: 'failed'; attempt: number; deadLetterId: string }
  | { kind: 'suppressed' }
  | { kind: 'cancelled' }
  | { kind: 'lost_claim' };

/** Hooks for metrics and pacing; every member is optional. */
export interface DeliveryHooks {
  /** Waits until the provider may take one more message (per-provider rate limit). */
  beforeSend?(provider: string): Promise<void>;
  /** Extra headers for this email (List-Unsubscribe for bulk mail, …). */
  extraHeaders?(email: ClaimedEmail): Record<string, string> | Promise<Record<string, string>>;
  /** The HTML part as it is sent (open/click tracking); the text part is never changed. */
  transformHtml?(email: ClaimedEmail, html: string): Promise<string>;
  onOutcome?(email: ClaimedEmail, result: DeliveryResult, outcome?: SendOutcome): void;
}

export function deliveryService(deps: {
  emails: EmailsRepository;
  renderer: TemplateRenderer;
  providers: ProviderRegistry;
  dispatcher: Dispatcher;
  retry: RetryPolicy;
  leaseSeconds: number;
  from: string;
  /** Who the email is from (its sender, DKIM key, envelope); absent: everything from `from`. */
  identity?: (email: ClaimedEmail) => Promise<DeliveryIdentity>;
  hooks?: DeliveryHooks;
  onDispatchError?: (e: unknown) => void;
}) {
  const hooks = deps.hooks ?? {};

  const dispatchQuietly = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      deps.onDispatchError?.(e);
    }
  };

  const fail = async (email: ClaimedEmail, error: string, reason: 'permanent' | 'retries_exhausted') => {
    const deadLetterId = await deps.emails.markFailed(email.id, email.attempts, error, reason, newId());
    if (!deadLetterId) return { kind: 'lost_claim' } as const;
    await dispatchQuietly(() =>
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
      const ok = await deps.emails.markSent(email.id, email.attempts, {
        providerMessageId: outcome.providerMessageId,
        subject,
        response: outcome.response,
      });
      return ok ? { kind: 'sent', attempt: email.attempts } : { kind: 'lost_claim' };
    }
    if (outcome.kind === 'permanent') return fail(email, outcome.error, 'permanent');
    if (!canRetry(deps.retry, email.attempts)) return fail(email, outcome.error, 'retries_exhausted');
    const delayMs = retryDelayMs(deps.retry, email.attempts, Math.random, outcome.retryAfterMs);
    const retried = await deps.emails.markRetry(email.id, email.attempts, outcome.error, delayMs);
    if (retried === null) return { kind: 'lost_claim' };
    if (retried === 'cancelled') return { kind: 'cancelled' };
    await dispatchQuietly(() =>
      deps.dispatcher.dispatch('mail.send', [
        {
          payload: { emailId: email.id },
          jobId: sendJobId(email.id, email.attempts),
          delayMs,
          ...(email.bulk_job_id ? { priority: BULK_PRIORITY } : {}),
        },
      ]),
    );
    return { kind: 'retry', attempt: email.attempts, delayMs };
  };

  return {
    /**
     * One delivery attempt of one email: claim → suppression check → render → send → record.
     * Safe to call any number of times for the same id: only the holder of the claim sends.
     */
    async deliver(emailId: string): Promise<DeliveryResult> {
      const email = await deps.emails.claim(emailId, deps.leaseSeconds);
      if (!email) return { kind: 'skipped' };

      // The claim reads the suppression list in the same statement: an address suppressed after
      // the email was accepted is caught here, and nothing is sent.
      if (email.suppressed_reason) {
        const ok = await deps.emails.markSuppressed(email.id, email.attempts, email.suppressed_reason);
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

      let message: OutgoingMessage;
      try {
        const rendered = await renderChecked(
          deps.renderer,
          { ...email, version: email.template_version },
          { ...email.shared_variables, ...email.variables },
        );
        const extra = (await hooks.extraHeaders?.(email)) ?? {};
        message = {
          messageId: email.message_id,
          from: identity.from,
          to: { email: email.recipient_email, name: email.recipient_name },
          subject: rendered.subject,
          html: hooks.transformHtml ? await hooks.transformHtml(email, rendered.html) : rendered.html,
          text: rendered.text,
          headers: { ...email.headers, ...extra },
          ...(identity.replyTo ? { replyTo: identity.replyTo } : {}),
          ...(identity.dkim ? { dkim: identity.dkim } : {}),
          ...(identity.envelopeFrom ? { envelopeFrom: identity.envelopeFrom } : {}),
        };
      } catch (e) {
        // Versions are immutable and were rendered at acceptance; a failure here is the data's
        // fault (a bulk recipient's variables), so retrying cannot help.
        if (!isAppError(e)) throw e;
        const result = await fail(email, `render failed: ${e.message}`, 'permanent');
        hooks.onOutcome?.(email, result);
        return result;
      }

      const provider = deps.providers.get(email.provider);
      if (provider && hooks.beforeSend) {
        await hooks.beforeSend(provider.name);
        // Waiting for the provider's pace may have outlived the lease, and another worker may
        // hold the email now: renew the claim, and send only if it still holds.
        if (!(await deps.emails.renewClaim(email.id, email.attempts, deps.leaseSeconds))) {
          const lost: DeliveryResult = { kind: 'lost_claim' };
          hooks.onOutcome?.(email, lost);
          return lost;
        }
      }
      const outcome: SendOutcome = provider
        ? await provider.send(message)
        : { kind: 'transient', error: `provider "${email.provider}" is not configured in this worker` };
      const result = await record(email, message.subject, outcome);
      hooks.onOutcome?.(email, result, outcome);
      return result;
    },

    /** Promotes a scheduled email whose time has come and dispatches its send. */
    async promote(emailId: string): Promise<boolean> {
      const moved = await deps.emails.promoteScheduled(emailId);
      if (moved) {
        await dispatchQuietly(() =>
          deps.dispatcher.dispatch('mail.send', [{ payload: { emailId }, jobId: sendJobId(emailId, 0) }]),
        );
        return true;
      }
      // A timer that fired a little early (clocks differ by milliseconds): wait for the rest.
      const dueInMs = await deps.emails.scheduledDueInMs(emailId);
      if (dueInMs !== null) {
        await dispatchQuietly(() =>
          deps.dispatcher.dispatch('mail.scheduled', [
            { payload: { emailId }, jobId: `${emailId}.at${Date.now() + dueInMs}`, delayMs: dueInMs + 5 },
          ]),
        );
      }
      return false;
    },
  };
}
export type DeliveryService = ReturnType<typeof deliveryService>;
