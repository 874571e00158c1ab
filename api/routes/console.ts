// The web console (console/, built by `vite build` into console/dist at install time) served
// as static files under /console/. The files hold no tenant data, so they are served without
// a key; everything they show comes from the API with the key the user signs in with.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export const consolePrefix = '/console';
export const consoleDist = fileURLToPath(new URL('../../console/dist/', import.meta.url));

export const consoleRoutes: FastifyPluginAsync<{ root?: string }> = async (app, { root = consoleDist }) => {
  if (!existsSync(`${root}/index.html`)) {
    // Not built (an install that skipped scripts): say how to build it instead of a bare 404.
    app.log.warn({ root }, 'the web console is not built; run `npm run build:console`');
    app.get(`${consolePrefix}/*`, { config: { public: true } }, async (_request, reply) =>
      reply.status(503).send({
        error: {
          code: 'CONSOLE_NOT_BUILT',
          message: 'the web console is not built: run `npm run build:console`',
        },
      }),
    );
    return;
  }
  // Routes of this plugin only (the hook is encapsulated): public, see above.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, public: true };
  });
  // The pages' relative asset URLs need the trailing slash.
  app.get(consolePrefix, async (_request, reply) => reply.redirect(`${consolePrefix}/`));
  await app.register(fastifyStatic, {
    root,
    prefix: `${consolePrefix}/`,
    // Hashed asset names change with every build: cache them; index.html always revalidates.
    setHeaders: (reply, path) => {
      reply.header(
        'cache-control',
        path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
      );
    },
  });
};
