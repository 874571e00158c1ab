// Webhook subscriptions of the caller's tenant (tenant admins): register (the secret is shown
// once), list, delete, and each one's deliveries with a redeliver command. A URL whose host
// is local or private is refused unless AOS_HTTP_ALLOW_HOSTS lists it (the rule http_call
// follows); the dispatcher checks again on every address the host resolves to.
import type { FastifyPluginAsync } from 'fastify';
import {
  createWebhook,
  deleteWebhook,
  listWebhookDeliveries,
  listWebhooks,
  redeliverWebhook,
} from '../../contracts/webhooks.ts';
import { InvalidInputError } from '../../domain/store/store-errors.ts';
import type { WebhookSender } from '../../infra/webhooks/webhook-sender.ts';
import type { WebhookRecord, WebhookStore } from '../../infra/webhooks/webhook-store.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

const view = ({ tenantId: _tenant, ...webhook }: WebhookRecord) => webhook;

export const webhookRoutes: FastifyPluginAsync<{ webhooks: WebhookStore; sender: WebhookSender }> = async (
  app,
  { webhooks, sender },
) => {
  const api = typed(app);
  const mine = async (tenantId: string, id: string) => {
    const webhook = await webhooks.get(tenantId, id);
    if (!webhook) throw new HttpError(404, 'NOT_FOUND', `no webhook ${id}`);
    return webhook;
  };

  api.route({
    ...routeOf(createWebhook),
    handler: async (request, reply) => {
      const refused = sender.refusedHost(request.body.url);
      if (refused)
        throw new InvalidInputError(
          'url',
          `${refused} (AOS_HTTP_ALLOW_HOSTS lists the hosts allowed anyway)`,
        );
      const { tenantId } = principalOf(request);
      const { secret, ...created } = await webhooks.register(tenantId, request.body);
      request.log.info({ webhookId: created.webhookId, tenantId }, 'webhook registered');
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ ...view(created), secret });
    },
  });

  api.route({
    ...routeOf(listWebhooks),
    handler: async (request) => ({
      items: (await webhooks.list(principalOf(request).tenantId)).map(view),
    }),
  });

  api.route({
    ...routeOf(deleteWebhook),
    handler: async (request) => {
      const removed = await webhooks.remove(principalOf(request).tenantId, request.params.id);
      if (!removed) throw new HttpError(404, 'NOT_FOUND', `no webhook ${request.params.id}`);
      return view(removed);
    },
  });

  api.route({
    ...routeOf(listWebhookDeliveries),
    handler: async (request) => {
      const webhook = await mine(principalOf(request).tenantId, request.params.id);
      const items = await webhooks.deliveries(webhook.webhookId, request.query);
      return { items: items.map(({ webhookId: _webhook, ...delivery }) => delivery) };
    },
  });

  api.route({
    ...routeOf(redeliverWebhook),
    handler: async (request, reply) => {
      const { tenantId } = principalOf(request);
      const webhook = await mine(tenantId, request.params.id);
      const delivery = await webhooks.redeliver(tenantId, webhook.webhookId, request.params.deliveryId);
      if (!delivery) throw new HttpError(404, 'NOT_FOUND', `no delivery ${request.params.deliveryId}`);
      const { webhookId: _webhook, ...rest } = delivery;
      return reply.status(202).send(rest);
    },
  });
};
