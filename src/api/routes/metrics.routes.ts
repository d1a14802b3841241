import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../domain/errors.js';
import type { Metrics } from '../../observability/metrics.js';
import { adminTokenMatches } from '../../services/tenancy.service.js';
import { bearer } from '../plugins/auth.js';

/**
 * Prometheus metrics of this process. Open on the listen address unless METRICS_TOKEN is set (a
 * scraper then sends it as a bearer token): many scrapers cannot send one, and the figures carry
 * no tenant data, only counts per route, status, queue and provider.
 */
export const metricsRoutes =
  (deps: { metrics: Metrics; token: string | null }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics (text exposition format)',
          description:
            'HTTP requests by route and status, emails waiting by status, queue depth and age of ' +
            'the oldest waiting job, delivery outcomes and latency, retries, dead letters, webhook ' +
            'events. Needs `Authorization: Bearer $METRICS_TOKEN` when that variable is set.',
          security: deps.token ? [{ metricsToken: [] }] : [],
          response: {
            200: {
              description: 'Prometheus text format 0.0.4',
              content: { 'text/plain': { schema: Type.String() } },
            },
          },
        },
      },
      async (req, reply) => {
        if (deps.token !== null && !adminTokenMatches(deps.token, bearer(req))) {
          throw new AppError(
            'unauthorized',
            'A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)',
          );
        }
        const body = await deps.metrics.render();
        return reply.type(deps.metrics.contentType).send(body);
      },
    );
  };
