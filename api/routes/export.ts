// Audit export: `GET /v1/export` streams a tenant's events as a self-verifying file (one event
// per line with its hash, the signed manifest last; replay/export-format.ts) and
// `GET /v1/export/public-key` gives the key that checks its signature.
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { exportEvents, exportPublicKey } from '../../contracts/ops.ts';
import type { ManifestSigner } from '../../infra/signing/signing-key.ts';
import { ExportNotFoundError, type ExportStore, openExport } from '../../replay/export.ts';
import type { ExportFilter } from '../../replay/export-format.ts';
import { principalOf } from '../auth/plugin.ts';
import { routeOf, typed } from '../contract-route.ts';
import { HttpError } from '../errors.ts';

export interface ExportRoutesOptions {
  store: ExportStore;
  signing: ManifestSigner & { publicKeyPem: string };
  clock: () => Date;
}

export const exportRoutes: FastifyPluginAsync<ExportRoutesOptions> = async (
  app,
  { store, signing, clock },
) => {
  const api = typed(app);
  api.route({
    ...routeOf(exportEvents),
    handler: async (request, reply) => {
      const { query } = request;
      const tenantId = principalOf(request).tenantId;
      const filter: ExportFilter = {
        tenantId,
        ...(query.stream ? { streamId: query.stream } : {}),
        ...(query.run ? { runId: query.run } : {}),
        ...(query.from ? { from: query.from } : {}),
        ...(query.to ? { to: query.to } : {}),
      };
      let text: AsyncGenerator<string>;
      try {
        text = await openExport(store, filter, { signer: signing, format: query.format, clock });
      } catch (error) {
        if (error instanceof ExportNotFoundError) {
          throw new HttpError(
            404,
            'NOT_FOUND',
            query.run ? `no run ${query.run}` : `no stream ${query.stream}`,
          );
        }
        throw error;
      }
      const name = `aos-export-${query.run ?? query.stream ?? tenantId}.${query.format === 'cloudevents' ? 'cloudevents.jsonl' : 'jsonl'}`;
      request.log.info({ tenantId, filter, format: query.format }, 'audit export started');
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${name.replace(/[^\w.@:-]/g, '_')}"`)
        .header('x-aos-key-id', signing.keyId)
        .send(Readable.from(text));
    },
  });

  // A public key is meant to be public: served without a key, so that an auditor can fetch it
  // separately from the export and compare its keyId with the manifest's.
  api.route({
    ...routeOf(exportPublicKey),
    handler: async (_request, reply) =>
      reply.header('cache-control', 'no-cache').send({
        keyId: signing.keyId,
        algorithm: signing.algorithm,
        publicKeyPem: signing.publicKeyPem,
      }),
  });
};
