import { createVerify, type KeyObject, X509Certificate } from 'node:crypto';
import { isRecord } from '../webhook-verifier.js';

/**
 * Amazon SNS message authentication (SNS delivers SES events over HTTPS): the envelope's fields are
 * joined into the canonical string, signed with RSA (SignatureVersion 1 = SHA1, 2 = SHA256) by a
 * key whose certificate SNS serves at `SigningCertURL`. The certificate is trusted because it is
 * fetched over HTTPS from an SNS host, so that URL is pinned before anything is fetched.
 */
export interface SnsEnvelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: '1' | '2';
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
}

/** GETs a URL; injectable so that tests and air-gapped installs never reach AWS. */
export type HttpGet = (url: URL) => Promise<{ status: number; body: string }>;

const MAX_RESPONSE_BYTES = 64 * 1024;

export const fetchHttpGet: HttpGet = async (url) => {
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  return { status: res.status, body: body.length > MAX_RESPONSE_BYTES ? '' : body };
};

/**
 * `sns.<region>.amazonaws.com` (`.amazonaws.com.cn` in China) for a real region name such as
 * us-east-1, eu-central-2, us-gov-west-1 or cn-north-1: a looser pattern also admitted other
 * services' hosts (`sns.s3.amazonaws.com`).
 */
const SNS_HOST = /^sns\.[a-z]{2}(-gov)?-[a-z]+-\d\.amazonaws\.com(\.cn)?$/;

/** The subject SNS signing certificates carry (CN=sns.amazonaws.com, or a regional name). */
const SNS_CERT_CN = /^sns(\.[a-z]{2}(-gov)?-[a-z]+-\d)?\.amazonaws\.com(\.cn)?$/;

/** How long a certificate URL that failed (not found, unparsable, expired, wrong subject) is not asked again. */
const FAILED_FETCH_TTL_MS = 60_000;

/** An https URL on `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`), nothing else. */
export function snsUrl(value: string | undefined, pathSuffix?: string): URL | null {
  if (!value) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || url.port !== '' || url.username !== '' || url.password !== '') return null;
  if (!SNS_HOST.test(url.hostname)) return null;
  if (pathSuffix && !url.pathname.endsWith(pathSuffix)) return null;
  return url;
}

const SIGNED_FIELDS: Record<string, readonly (keyof SnsEnvelope)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

const REQUIRED = [
  'Type',
  'MessageId',
  'TopicArn',
  'Message',
  'Timestamp',
  'Signature',
  'SigningCertURL',
] as const;

/** The envelope when every field SNS always sends is a string; null otherwise. */
export function readEnvelope(value: unknown): SnsEnvelope | null {
  if (!isRecord(value)) return null;
  for (const k of REQUIRED) if (typeof value[k] !== 'string') return null;
  if (value.SignatureVersion !== '1' && value.SignatureVersion !== '2') return null;
  for (const k of ['Subject', 'SubscribeURL', 'Token'] as const) {
    if (value[k] !== undefined && value[k] !== null && typeof value[k] !== 'string') return null;
  }
  const fields = SIGNED_FIELDS[value.Type as string];
  if (!fields) return null;
  if (
    value.Type !== 'Notification' &&
    (typeof value.SubscribeURL !== 'string' || typeof value.Token !== 'string')
  ) {
    return null;
  }
  return value as unknown as SnsEnvelope;
}

/** The string SNS signed: `Name\nvalue\n` for each signed field present, in this fixed order. */
export function canonicalString(env: SnsEnvelope): string {
  const fields = SIGNED_FIELDS[env.Type] ?? [];
  let out = '';
  for (const k of fields) {
    const v = env[k];
    if (typeof v === 'string') out += `${k}\n${v}\n`;
  }
  return out;
}

export function verifyEnvelopeSignature(env: SnsEnvelope, key: KeyObject): boolean {
  try {
    return createVerify(env.SignatureVersion === '1' ? 'RSA-SHA1' : 'RSA-SHA256')
      .update(canonicalString(env), 'utf8')
      .verify(key, env.Signature, 'base64');
  } catch {
    return false;
  }
}

/** The subject's common names (Node prints the subject one `KEY=value` per line). */
function commonNames(cert: X509Certificate): string[] {
  return cert.subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
}

/**
 * Fetches and caches signing certificates by URL. A certificate that cannot be parsed, is not
 * valid now, or is not issued to SNS is refused, and that refusal is remembered for a minute so a
 * flood of forged messages cannot make us fetch again and again; a host that does not answer is a
 * dependency failure (the caller's 503).
 */
export function certificateStore(get: HttpGet, now: () => number, maxEntries = 50) {
  const cache = new Map<string, { key: KeyObject; validTo: number }>();
  const failed = new Map<string, number>();
  const remember = <K, V>(map: Map<K, V>, key: K, value: V) => {
    if (map.size >= maxEntries) map.delete(map.keys().next().value as K);
    map.set(key, value);
  };
  const fetchKey = async (url: URL): Promise<{ key: KeyObject; validTo: number } | null> => {
    const res = await get(url);
    if (res.status !== 200) return null;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(res.body);
    } catch {
      return null;
    }
    const validFrom = Date.parse(cert.validFrom);
    const validTo = Date.parse(cert.validTo);
    if (!(validFrom <= now() && now() <= validTo)) return null;
    if (!commonNames(cert).some((cn) => SNS_CERT_CN.test(cn))) return null;
    return { key: cert.publicKey, validTo };
  };
  return async (url: URL): Promise<KeyObject | null> => {
    const href = url.toString();
    const hit = cache.get(href);
    if (hit && hit.validTo > now()) return hit.key;
    const failedUntil = failed.get(href);
    if (failedUntil !== undefined && failedUntil > now()) return null;
    const got = await fetchKey(url);
    if (!got) {
      remember(failed, href, now() + FAILED_FETCH_TTL_MS);
      return null;
    }
    failed.delete(href);
    remember(cache, href, got);
    return got.key;
  };
}
