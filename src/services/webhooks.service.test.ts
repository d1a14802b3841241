import { describe, expect, it } from 'vitest';
import type { EmailStatus } from '../domain/email-status.js';
import type { ProviderEvent, WebhookEventType } from '../providers/webhook-verifier.js';
import { webhookEffect } from './webhooks.service.js';

const event = (type: WebhookEventType | null, bounceType?: 'hard' | 'soft'): ProviderEvent => ({
  eventId: 'ev1',
  providerType: String(type),
  type,
  ...(bounceType ? { bounceType } : {}),
  emailId: 'e1',
  providerMessageId: null,
  occurredAt: null,
  data: { from: 'provider' },
  payload: {},
});
/** The effect, with the status it leaves an email in that had `status`. */
const effect = (status: EmailStatus, type: WebhookEventType | null, bounce?: 'hard' | 'soft') => {
  const e = webhookEffect('mock', event(type, bounce));
  return { ...e, status: e.transitions[status] ?? status };
};

describe('what a webhook event does to its email', () => {
  it.each([
    ['sent', 'delivered', 'delivered'],
    ['sent', 'opened', 'opened'],
    ['opened', 'delivered', 'opened'],
    ['delivered', 'clicked', 'delivered'],
    ['delivered', 'deferred', 'delivered'],
    ['delivered', 'bounced', 'bounced'],
    ['bounced', 'delivered', 'bounced'],
    ['failed', 'opened', 'failed'],
    ['complained', 'bounced', 'complained'],
    ['sent', 'failed', 'failed'],
    ['sent', 'unsubscribed', 'sent'],
  ] as const)('%s + %s → %s', (from, type, to) => {
    const r = effect(from, type, type === 'bounced' ? 'hard' : undefined);
    expect(r.status).toBe(to);
    expect(r.event?.type).toBe(type);
  });

  it('keeps a soft bounce from moving the status or suppressing', () => {
    expect(effect('sent', 'bounced', 'soft')).toMatchObject({ status: 'sent', suppression: null });
  });

  it('suppresses on a hard bounce and on a complaint, with where it came from', () => {
    expect(effect('sent', 'bounced', 'hard').suppression).toEqual({
      reason: 'hard_bounce',
      source: { provider: 'mock', event_id: 'ev1' },
    });
    expect(effect('sent', 'complained').suppression?.reason).toBe('complaint');
    expect(effect('sent', 'opened').suppression).toBeNull();
  });

  it('carries the provider data and where it came from in the event', () => {
    expect(effect('sent', 'opened').event?.data).toEqual({
      from: 'provider',
      provider: 'mock',
      provider_event_id: 'ev1',
    });
  });

  it('lists only the statuses the event moves', () => {
    expect(webhookEffect('mock', event('opened')).transitions).toEqual({
      queued: 'opened',
      scheduled: 'opened',
      processing: 'opened',
      sent: 'opened',
      delivered: 'opened',
    });
    expect(webhookEffect('mock', event('clicked')).transitions).toEqual({});
  });

  it('leaves the email alone for an event without a meaning here', () => {
    expect(effect('sent', null)).toEqual({ event: null, transitions: {}, status: 'sent', suppression: null });
  });
});
