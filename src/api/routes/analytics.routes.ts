import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AnalyticsService } from '../../services/analytics.service.js';
import { tenantOf } from '../plugins/auth.js';
import { AnalyticsQuery, AnalyticsReport } from '../schemas/analytics.js';

export const analyticsRoutes =
  (deps: { analytics: AnalyticsService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/analytics',
      {
        schema: {
          tags: ['analytics'],
          summary: 'Email counts per UTC hour or day, zero-filled, with totals',
          description:
            'Served from rollups that the workers keep up to date about once a second; events ' +
            'are counted in the bucket of the time they happened. 404 for a template_id that is ' +
            "not this tenant's.",
          querystring: AnalyticsQuery,
          response: { 200: AnalyticsReport },
        },
      },
      async (req) => {
        const q = req.query;
        return deps.analytics.report(tenantOf(req, q.tenant_id), {
          from: q.from,
          to: q.to,
          groupBy: q.group_by,
          templateId: q.template_id,
          includeTest: q.include_test,
        });
      },
    );
  };
