import { randomUUID } from 'node:crypto';
import { signStandardWebhook, standardWebhooksKey } from '../../src/providers/standard-webhooks/signature.js';
import { eventually, type Harness } from './harness.js';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Headers a Standard Webhooks sender would add for `body` (Svix names with `prefix: 'svix'`). */
export function standardHeaders(
  secret: string,
  body: string,
  opts: { id?: string; timestamp?: number; prefix?: 'webhook' | 'svix' } = {},
): Record<string, string> {
  const key = standardWebhooksKey(secret);
  if (!key) throw new Error('unusable secret');
  const id = opts.id ?? `msg_${randomUUID()}`;
  const ts = opts.timestamp ?? nowSeconds();
  const p = opts.prefix ?? 'webhook';
  return {
    'content-type': 'application/json',
    [`${p}-id`]: id,
    [`${p}-timestamp`]: String(ts),
    [`${p}-signature`]: signStandardWebhook(key, id, ts, body),
  };
}

/** Sends one email through the API and waits until the worker recorded it as sent. */
export async function sendAndWaitSent(
  h: Harness,
  key: string,
  templateId: string,
  email: string,
  extra: Record<string, unknown> = {},
): Promise<{ email_id: string; provider_message_id: string; message_id: string }> {
  const res = await h.request('POST', '/send', {
    key,
    body: { recipient: { email }, template_id: templateId, variables: { name: 'X' }, ...extra },
  });
  if (res.status !== 202) throw new Error(`send: ${res.status} ${res.raw}`);
  return eventually(async () => {
    const r = await h.request('GET', `/emails/${res.body.email_id}`, { key });
    return r.body.status === 'sent' ? r.body : null;
  });
}

/** An event of our own format, with defaults for what a test does not care about. */
export const ourEvent = (e: Record<string, unknown>) => ({
  event_id: `evt_${randomUUID()}`,
  occurred_at: new Date().toISOString(),
  ...e,
});
