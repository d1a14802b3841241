import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { DeadLettersService } from '../../services/dead-letters.service.js';
import { tenantOf } from '../plugins/auth.js';
import { Page, PageQuery, TenantIdQuery } from '../schemas/common.js';
import { DeadLetter, DeadLetterRetried } from '../schemas/dead-letters.js';
import { errors } from '../schemas/errors.js';

const Params = Type.Object({ id: Type.String({ maxLength: 200 }) });

export const deadLettersRoutes =
  (deps: { deadLetters: DeadLettersService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const svc = deps.deadLetters;

    app.get(
      '/dead-letters',
      {
        schema: {
          tags: ['dead letters'],
          summary: 'Emails that failed for good, newest first',
          querystring: Type.Object(
            {
              ...TenantIdQuery.properties,
              include_retried: Type.Boolean({ default: false }),
              ...PageQuery,
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(DeadLetter) },
        },
      },
      async (req) =>
        svc.list(
          tenantOf(req, req.query.tenant_id),
          req.query.limit,
          req.query.cursor,
          req.query.include_retried,
        ),
    );

    app.get(
      '/dead-letters/:id',
      {
        schema: {
          tags: ['dead letters'],
          summary: 'One dead letter',
          params: Params,
          querystring: TenantIdQuery,
          response: { 200: DeadLetter },
        },
      },
      async (req) => svc.get(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.post(
      '/dead-letters/:id/retry',
      {
        schema: {
          tags: ['dead letters'],
          summary: 'Send the email again with a fresh retry budget',
          params: Params,
          querystring: TenantIdQuery,
          response: { 202: DeadLetterRetried, ...errors(409) },
        },
      },
      async (req, reply) =>
        reply.code(202).send(await svc.retry(tenantOf(req, req.query.tenant_id), req.params.id)),
    );
  };
