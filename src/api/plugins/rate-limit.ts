import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { AppError } from '../../domain/errors.js';
import type { RateLimiter } from '../../ratelimit/rate-limiter.js';

export interface TenantRateLimitOptions {
  limiter: RateLimiter;
  /** RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST; a tenant's own values (admin PATCH) win. */
  defaults: { perSecond: number; burst: number };
  onLimited?: () => void;
}

const retryAfterSeconds = (waitMs: number) => String(Math.max(1, Math.ceil(waitMs / 1000)));

/**
 * onRequest hook for tenant routes, after authentication: one token bucket per tenant, shared by
 * every API process through Redis. A rate of 0 means no limit.
 */
export const tenantRateLimit =
  (opts: TenantRateLimitOptions) => async (req: FastifyRequest, reply: FastifyReply) => {
    const tenant = req.tenant;
    if (!tenant) return;
    const perSecond = tenant.rateLimitPerSecond ?? opts.defaults.perSecond;
    if (!(perSecond > 0)) return;
    const burst = Math.max(1, tenant.rateLimitBurst ?? opts.defaults.burst);
    const d = await opts.limiter.take(`tenant:${tenant.tenantId}`, perSecond, burst);
    reply.header('x-ratelimit-limit', String(burst));
    reply.header('x-ratelimit-remaining', String(d.remaining));
    if (!d.allowed) {
      opts.onLimited?.();
      throw new AppError(
        'rate_limited',
        undefined,
        { retry_after_seconds: Number(retryAfterSeconds(d.waitMs)) },
        {
          'retry-after': retryAfterSeconds(d.waitMs),
        },
      );
    }
  };

/** Requests per second (and burst) one client address may spend on paths that match no route. */
export const NOT_FOUND_LIMIT = { perSecond: 5, burst: 50 };

/**
 * preHandler hook for the whole app: requests that end in the 404 handler are limited per client
 * address, so scanning for paths costs the scanner more than the server.
 */
export const notFoundRateLimit =
  (limiter: RateLimiter, onLimited?: () => void) => async (req: FastifyRequest) => {
    if (!req.is404) return;
    const d = await limiter.take(`not-found:${req.ip}`, NOT_FOUND_LIMIT.perSecond, NOT_FOUND_LIMIT.burst);
    if (!d.allowed) {
      onLimited?.();
      throw new AppError('rate_limited', undefined, undefined, {
        'retry-after': retryAfterSeconds(d.waitMs),
      });
    }
  };

export interface AuthFailureLimit {
  /** How long this address is still refused without a query (ms; 0: not refused). */
  blockedFor(address: string): number;
  /** Counts one failed authentication; returns how long the address must wait (0: not yet). */
  failed(address: string): Promise<number>;
  /** The 429 for a refused address. */
  refusal(waitMs: number): AppError;
}

/**
 * Failed authentications per client address (`req.ip`, so TRUST_PROXY decides what the address
 * is): a GCRA bucket shared through Redis, plus this process's memory of addresses that ran out,
 * so that while one is refused its made-up keys cost no query at all.
 */
export function authFailureLimit(opts: {
  limiter: RateLimiter;
  perSecond: number;
  burst: number;
  onLimited?: () => void;
}): AuthFailureLimit {
  const blockedUntil = new LRUCache<string, number>({ max: 10_000 });
  return {
    blockedFor(address) {
      const until = blockedUntil.get(address);
      if (until === undefined) return 0;
      const left = until - Date.now();
      if (left <= 0) blockedUntil.delete(address);
      return Math.max(0, left);
    },
    async failed(address) {
      const d = await opts.limiter.take(`auth-failures:${address}`, opts.perSecond, opts.burst);
      if (d.allowed) return 0;
      blockedUntil.set(address, Date.now() + d.waitMs);
      return d.waitMs;
    },
    refusal(waitMs) {
      opts.onLimited?.();
      return new AppError(
        'rate_limited',
        'Too many failed authentications from this address',
        { retry_after_seconds: Number(retryAfterSeconds(waitMs)) },
        { 'retry-after': retryAfterSeconds(waitMs) },
      );
    },
  };
}
