// Slow-loris bodies: a client that trickles its body keeps the socket active, so neither the
// idle timeout nor Node's requestTimeout (which stops at the headers) ends it. A request
// whose body has not fully arrived within the request timeout loses its connection.
import type { FastifyInstance } from 'fastify';

export function slowBodyGuard(app: FastifyInstance, timeoutMs: number): void {
  app.addHook('onRequest', async (request) => {
    if (request.raw.complete) return;
    const timer = setTimeout(() => {
      request.log.warn({ timeoutMs }, 'request body too slow; connection closed');
      // An injected request (tests, light-my-request) has a stand-in socket without destroy:
      // there is no connection to close.
      const socket = request.raw.socket as { destroy?: unknown } | undefined;
      if (typeof socket?.destroy === 'function') request.raw.socket.destroy();
    }, timeoutMs);
    const clear = () => clearTimeout(timer);
    request.raw.once('end', clear);
    request.raw.once('close', clear);
  });
}
