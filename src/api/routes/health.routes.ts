import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { BreakerState } from '../../breaker/provider-breaker.js';
import type { Database } from '../../db/database.js';
import type { Dispatcher } from '../../queue/dispatcher.js';
import { sendError } from '../plugins/errors.js';
import { errors } from '../schemas/errors.js';
import { Live, Ready } from '../schemas/health.js';

export const healthRoutes =
  (deps: {
    db: Database;
    dispatcher: Dispatcher;
    breakers?: () => Promise<BreakerState[]>;
    /** Queued emails per provider, asked only for providers whose breaker is not closed. */
    queuedFor?: (providers: string[]) => Promise<Record<string, number>>;
  }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/health/live',
      { schema: { tags: ['operations'], summary: 'The process runs', response: { 200: Live } } },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/health/ready',
      {
        schema: {
          tags: ['operations'],
          summary: '200 when PostgreSQL and Redis answer, else 503 naming what is down',
          response: { 200: Ready, ...errors(503) },
        },
      },
      async (_req, reply) => {
        const [pg, redis, breakers] = await Promise.allSettled([
          deps.db.ping(2000),
          deps.dispatcher.ping(2000),
          deps.breakers?.() ?? Promise.resolve([]),
        ]);
        const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
        const states = breakers.status === 'fulfilled' ? breakers.value : [];
        const troubled = states.filter((s) => s.state !== 'closed').map((s) => s.provider);
        const waiting =
          troubled.length > 0 && pg.status === 'fulfilled' && deps.queuedFor
            ? await deps.queuedFor(troubled).catch(() => ({}) as Record<string, number>)
            : {};
        const providers = Object.fromEntries(
          states.map((s) => [
            s.provider,
            {
              state: s.state,
              open_since: iso(s.openedAt),
              next_probe_at: iso(s.retryAt),
              opens: s.opens,
              ...(s.state !== 'closed' ? { waiting: waiting[s.provider] ?? 0 } : {}),
            },
          ]),
        );
        const checks = {
          postgres: pg.status === 'fulfilled' ? 'up' : 'down',
          [deps.dispatcher.kind === 'bullmq' ? 'redis' : 'dispatcher']:
            redis.status === 'fulfilled' ? 'up' : 'down',
        };
        const down = Object.entries(checks)
          .filter(([, v]) => v === 'down')
          .map(([k]) => k);
        if (down.length > 0) {
          return sendError(reply, 'service_unavailable', `Not ready: ${down.join(' and ')} down`, {
            checks,
            providers,
          });
        }
        return { status: 'ok', checks, providers };
      },
    );
  };
