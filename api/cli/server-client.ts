// How CLI commands reach the live system: over its HTTP API (AOS_URL, AOS_API_KEY),
// because the embedded store belongs to the server's process.
export class ServerError extends Error {
  override readonly name = 'ServerError';
}

export interface ServerClient {
  // biome-ignore lint/suspicious/noExplicitAny: each caller states the JSON shape it expects
  request<T = any>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T>;
}

export function serverClient(env: Record<string, string | undefined> = process.env): ServerClient {
  const base = env.AOS_URL ?? `http://127.0.0.1:${env.AOS_PORT ?? 8080}`;
  const key = env.AOS_API_KEY;
  return {
    async request(method, path, body, headers = {}) {
      if (!key) throw new ServerError('set AOS_API_KEY to an API key (the system key for admin commands)');
      let response: Response;
      try {
        response = await fetch(new URL(path, base), {
          method,
          headers: {
            ...headers,
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        throw new ServerError(`cannot reach AOS at ${base} (set AOS_URL): ${(error as Error).message}`);
      }
      const text = await response.text();
      const parsed = text ? JSON.parse(text) : undefined;
      if (!response.ok) {
        const error = parsed?.error;
        throw new ServerError(`${response.status} ${error?.code ?? ''}: ${error?.message ?? text}`);
      }
      return parsed;
    },
  };
}
