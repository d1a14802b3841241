import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { decodeCursor, page } from '../../db/cursor.js';
import {
  deliveryView,
  endpointView,
  type OutboundWebhooksService,
} from '../../services/outbound-webhooks.service.js';
import { tenantOf } from '../plugins/auth.js';
import { IdParams, Page, PageQuery, TenantIdQuery } from '../schemas/common.js';
import { errors } from '../schemas/errors.js';
import {
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookEventTypeInput,
} from '../schemas/webhook-endpoints.js';

const TenantBody = { tenant_id: Type.Optional(Type.String({ maxLength: 64 })) };
const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'Where events are POSTed: https and a public address (docs/webhooks.md)',
});
const Events = Type.Array(WebhookEventTypeInput, { minItems: 1, maxItems: 20 });
const Description = Type.Union([Type.String({ maxLength: 500 }), Type.Null()]);
const DeliveryParams = Type.Object({
  id: Type.String({ maxLength: 200 }),
  delivery_id: Type.String({ maxLength: 200 }),
});

/** Tenant event webhooks: endpoints, their secrets, test events and the delivery log. */
export const webhookEndpointsRoutes =
  (deps: { outboundWebhooks: OutboundWebhooksService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const svc = deps.outboundWebhooks;
    const tags = ['webhook-endpoints'];

    app.post(
      '/webhook-endpoints',
      {
        schema: {
          tags,
          summary: 'Register an endpoint for event webhooks; the answer shows its signing secret, once',
          body: Type.Object(
            { ...TenantBody, url: Url, events: Events, description: Type.Optional(Description) },
            { additionalProperties: false },
          ),
          response: { 201: WebhookEndpointWithSecret, ...errors(422) },
        },
      },
      async (req, reply) => {
        const tenantId = tenantOf(req, req.body.tenant_id);
        return reply.code(201).send(await svc.create(tenantId, req.body));
      },
    );

    app.get(
      '/webhook-endpoints',
      {
        schema: {
          tags,
          summary: 'List the webhook endpoints, newest first',
          querystring: Type.Object(
            { ...TenantIdQuery.properties, ...PageQuery },
            { additionalProperties: false },
          ),
          response: { 200: Page(WebhookEndpoint) },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.query.tenant_id);
        const rows = await svc.list(tenantId, req.query.limit, decodeCursor(req.query.cursor));
        return page(rows, req.query.limit, (r) => r.id, endpointView);
      },
    );

    app.get(
      '/webhook-endpoints/:id',
      {
        schema: {
          tags,
          summary: 'A webhook endpoint (its secret is never shown again)',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 200: WebhookEndpoint },
        },
      },
      async (req) => svc.get(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.patch(
      '/webhook-endpoints/:id',
      {
        schema: {
          tags,
          summary:
            'Change the URL, the events or the description, or enable/disable (disabling gives up its pending deliveries)',
          params: IdParams,
          body: Type.Object(
            {
              ...TenantBody,
              url: Type.Optional(Url),
              events: Type.Optional(Events),
              description: Type.Optional(Description),
              enabled: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
          response: { 200: WebhookEndpoint, ...errors(422) },
        },
      },
      async (req) => {
        const { tenant_id, ...patch } = req.body;
        return svc.update(tenantOf(req, tenant_id), req.params.id, patch);
      },
    );

    app.delete(
      '/webhook-endpoints/:id',
      {
        schema: {
          tags,
          summary: 'Remove an endpoint and its delivery log',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 204: Type.Unsafe<void>({ description: 'Removed; no body' }) },
        },
      },
      async (req, reply) => {
        await svc.remove(tenantOf(req, req.query.tenant_id), req.params.id);
        return reply.code(204).send();
      },
    );

    app.post(
      '/webhook-endpoints/:id/rotate-secret',
      {
        schema: {
          tags,
          summary: 'A new signing secret (shown once); the previous one keeps signing beside it for 24 hours',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 200: WebhookEndpointWithSecret },
        },
      },
      async (req) => svc.rotateSecret(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.post(
      '/webhook-endpoints/:id/test',
      {
        schema: {
          tags,
          summary: 'Send a webhook.test event now (signed and logged like any other)',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 202: WebhookDelivery },
        },
      },
      async (req, reply) =>
        reply.code(202).send(await svc.sendTest(tenantOf(req, req.query.tenant_id), req.params.id)),
    );

    app.get(
      '/webhook-endpoints/:id/deliveries',
      {
        schema: {
          tags,
          summary: 'The delivery log of an endpoint, newest first',
          params: IdParams,
          querystring: Type.Object(
            { ...TenantIdQuery.properties, ...PageQuery },
            { additionalProperties: false },
          ),
          response: { 200: Page(WebhookDelivery) },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.query.tenant_id);
        const rows = await svc.deliveries(
          tenantId,
          req.params.id,
          req.query.limit,
          decodeCursor(req.query.cursor),
        );
        return page(rows, req.query.limit, (r) => r.id, deliveryView);
      },
    );

    app.post(
      '/webhook-endpoints/:id/deliveries/:delivery_id/retry',
      {
        schema: {
          tags,
          summary: 'Send a finished delivery again, now, with the same webhook-id (then the retry schedule)',
          params: DeliveryParams,
          querystring: TenantIdQuery,
          response: { 202: WebhookDelivery, ...errors(409) },
        },
      },
      async (req, reply) =>
        reply
          .code(202)
          .send(
            await svc.retryDelivery(
              tenantOf(req, req.query.tenant_id),
              req.params.id,
              req.params.delivery_id,
            ),
          ),
    );
  };
