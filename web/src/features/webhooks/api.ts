import { queryOptions } from '@tanstack/react-query';
import {
  client,
  unwrap,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointInput,
  type WebhookEndpointWithSecret,
} from '../../lib/api';
import { type MutationConfigFor, useInvalidatingMutation } from '../../lib/query';

export type { WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret };

/** Every event type an endpoint can subscribe to (the API's catalogue, docs/webhooks.md). */
export const EVENT_TYPES = [
  'email.queued',
  'email.sent',
  'email.delivered',
  'email.delivery_delayed',
  'email.bounced',
  'email.complained',
  'email.failed',
  'email.suppressed',
  'email.opened',
  'email.clicked',
  'email.unsubscribed',
  'bulk.completed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Query options, one factory per read; keys start with 'webhooks' so one invalidation refreshes all. */
export const webhookQueries = {
  all: ['webhooks'] as const,
  list: (cursor: string | undefined) =>
    queryOptions({
      queryKey: [...webhookQueries.all, 'list', cursor ?? null],
      queryFn: () => unwrap(client.GET('/webhook-endpoints', { params: { query: { cursor, limit: 50 } } })),
    }),
  one: (id: string) =>
    queryOptions({
      queryKey: [...webhookQueries.all, 'one', id],
      queryFn: () => unwrap(client.GET('/webhook-endpoints/{id}', { params: { path: { id } } })),
      // Its failing/disabled state changes as deliveries are attempted.
      refetchInterval: 5000,
    }),
  /** The delivery log; refreshed every few seconds so attempts and retries show as they happen. */
  deliveries: (id: string, cursor: string | undefined) =>
    queryOptions({
      queryKey: [...webhookQueries.all, 'deliveries', id, cursor ?? null],
      queryFn: () =>
        unwrap(
          client.GET('/webhook-endpoints/{id}/deliveries', {
            params: { path: { id }, query: { cursor, limit: 50 } },
          }),
        ),
      refetchInterval: 3000,
    }),
};

type Events = WebhookEndpointInput['events'];
const create = (body: { url: string; events: Events; description?: string | null }) =>
  unwrap(client.POST('/webhook-endpoints', { body }));
const update = (v: {
  id: string;
  patch: { url?: string; events?: Events; enabled?: boolean; description?: string | null };
}) => unwrap(client.PATCH('/webhook-endpoints/{id}', { params: { path: { id: v.id } }, body: v.patch }));
const remove = (id: string) => unwrap(client.DELETE('/webhook-endpoints/{id}', { params: { path: { id } } }));
const rotate = (id: string) =>
  unwrap(client.POST('/webhook-endpoints/{id}/rotate-secret', { params: { path: { id } } }));
const test = (id: string) =>
  unwrap(client.POST('/webhook-endpoints/{id}/test', { params: { path: { id } } }));
const retry = (v: { id: string; deliveryId: string }) =>
  unwrap(
    client.POST('/webhook-endpoints/{id}/deliveries/{delivery_id}/retry', {
      params: { path: { id: v.id, delivery_id: v.deliveryId } },
    }),
  );

export const useCreateEndpoint = (config?: MutationConfigFor<typeof create>) =>
  useInvalidatingMutation(create, webhookQueries.all, config);
export const useUpdateEndpoint = (config?: MutationConfigFor<typeof update>) =>
  useInvalidatingMutation(update, webhookQueries.all, config);
export const useRemoveEndpoint = (config?: MutationConfigFor<typeof remove>) =>
  useInvalidatingMutation(remove, webhookQueries.all, config);
export const useRotateSecret = (config?: MutationConfigFor<typeof rotate>) =>
  useInvalidatingMutation(rotate, webhookQueries.all, config);
export const useSendTest = (config?: MutationConfigFor<typeof test>) =>
  useInvalidatingMutation(test, webhookQueries.all, config);
export const useRetryDelivery = (config?: MutationConfigFor<typeof retry>) =>
  useInvalidatingMutation(retry, webhookQueries.all, config);
