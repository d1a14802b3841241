import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PIXEL_GIF, type TrackingService } from '../../services/tracking.service.js';
import { adminAuth } from '../plugins/auth.js';
import { errors } from '../schemas/errors.js';

const Params = Type.Object({ token: Type.String({ maxLength: 1024 }) });
const TrackingDefaults = Type.Object({
  track_opens: Type.Boolean({ description: 'Add the open pixel unless a send says otherwise' }),
  track_clicks: Type.Boolean({ description: 'Rewrite links unless a send says otherwise' }),
});

/**
 * Open and click tracking, public: the signed token in the path is the only authority (no tenant
 * key; mail clients fetch these). docs/tracking.md.
 */
export const trackingRoutes =
  (deps: { tracking: TrackingService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const userAgent = (ua: string | string[] | undefined) =>
      typeof ua === 'string' && ua !== '' ? ua : null;

    app.get(
      '/t/o/:token',
      {
        schema: {
          tags: ['tracking'],
          summary:
            'The open pixel: records an open and answers a 1×1 GIF (HEAD is recorded as a machine open)',
          params: Params,
          response: {
            200: {
              description: 'A transparent GIF',
              content: { 'image/gif': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) } },
            },
            ...errors(404),
          },
        },
      },
      async (req, reply) => {
        await deps.tracking.hit('open', req.params.token, {
          method: req.method,
          userAgent: userAgent(req.headers['user-agent']),
        });
        return reply.header('cache-control', 'no-store, max-age=0').type('image/gif').send(PIXEL_GIF);
      },
    );

    app.get(
      '/t/c/:token',
      {
        schema: {
          tags: ['tracking'],
          summary: 'A tracked link: records the click and redirects to the link as it was in the email',
          params: Params,
          response: {
            302: { description: 'Location: the original URL', type: 'null' },
            ...errors(404),
          },
        },
      },
      async (req, reply) => {
        const hit = await deps.tracking.hit('click', req.params.token, {
          method: req.method,
          userAgent: userAgent(req.headers['user-agent']),
        });
        const url = hit.kind === 'click' ? hit.url : '/';
        return reply.header('cache-control', 'no-store').redirect(url, 302);
      },
    );
  };

/** Tenant defaults for tracking, set by the operator. */
export const trackingAdminRoutes =
  (deps: { tracking: TrackingService; adminApiToken: string | null }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.addHook('onRequest', adminAuth(deps.adminApiToken));
    const Id = Type.Object({ id: Type.String({ maxLength: 64 }) });

    app.get(
      '/admin/tenants/:id/tracking',
      {
        schema: {
          tags: ['admin'],
          summary: "The tenant's tracking defaults",
          params: Id,
          response: { 200: TrackingDefaults },
        },
      },
      async (req) => deps.tracking.defaultsOf(req.params.id),
    );

    app.put(
      '/admin/tenants/:id/tracking',
      {
        schema: {
          tags: ['admin'],
          summary: 'Set whether emails are tracked when a send does not say (track_opens, track_clicks)',
          params: Id,
          body: Type.Object(
            { track_opens: Type.Optional(Type.Boolean()), track_clicks: Type.Optional(Type.Boolean()) },
            { additionalProperties: false },
          ),
          response: { 200: TrackingDefaults },
        },
      },
      async (req) => deps.tracking.setDefaults(req.params.id, req.body),
    );
  };
