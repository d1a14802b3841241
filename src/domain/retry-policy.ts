/**
 * Retry policy (docs/architecture.md, "`MAX_RETRIES` counts retries"): exponential backoff with
 * full jitter, delay after the n-th attempt = random(0, min(max, base · 2^(n − 1))), for at most
 * `maxRetries` retries after the first attempt (so `maxRetries + 1` attempts in all).
 */
export interface RetryPolicy {
  maxRetries: number;
  baseSeconds: number;
  maxSeconds: number;
}

/** Whether an email that has made `attempts` attempts may be tried again. */
export const canRetry = (policy: RetryPolicy, attempts: number): boolean => attempts <= policy.maxRetries;

/**
 * Delay before the next attempt after `attempts` attempts (1-based). A provider's own
 * "retry after" wins when it asks for longer.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  attempts: number,
  random: () => number = Math.random,
  providerRetryAfterMs?: number,
): number {
  const capMs = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** Math.max(0, attempts - 1)) * 1000;
  const jittered = Math.floor(random() * capMs);
  return Math.max(jittered, providerRetryAfterMs ?? 0);
}
