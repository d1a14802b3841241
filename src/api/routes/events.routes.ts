import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { EmailsService } from '../../services/emails.service.js';
import { tenantOf } from '../plugins/auth.js';
import { TenantIdQuery } from '../schemas/common.js';
import { EventFeed } from '../schemas/emails.js';

/** The tenant's events as a feed to follow (`mailsystem tail`). */
export const eventsRoutes =
  (deps: { emails: EmailsService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get(
      '/events',
      {
        schema: {
          tags: ['emails'],
          summary: "The tenant's email events in the order they were recorded, to follow as they happen",
          description:
            'Without a cursor: the latest events. With the next_cursor of an earlier answer: the events recorded since, oldest first (has_more says a full page came back; ask again at once). next_cursor is always set. Events of concurrent transactions can become visible slightly out of order, so a follower that must miss nothing asks again from a cursor a few seconds old and skips the ids it has seen.',
          querystring: Type.Object(
            {
              ...TenantIdQuery.properties,
              cursor: Type.Optional(Type.String({ maxLength: 64 })),
              limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            },
            { additionalProperties: false },
          ),
          response: { 200: EventFeed },
        },
      },
      async (req) =>
        deps.emails.eventFeed(tenantOf(req, req.query.tenant_id), req.query.cursor, req.query.limit),
    );
  };
