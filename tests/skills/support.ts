// Real local servers for the skill tests: node:http on 127.0.0.1, an ephemeral port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SkillCall } from '../../commands/skill-port.ts';

export interface TestServer {
  url: string;
  port: number;
  /** Every request the server has seen, with its body. */
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

export type Handler = (
  request: http.IncomingMessage,
  response: http.ServerResponse,
  body: string,
) => void | Promise<void>;

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      void handler(request, response, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function skillCall(
  skill: string,
  input: Record<string, unknown>,
  overrides: Partial<SkillCall> = {},
): SkillCall {
  return {
    skill,
    input,
    tenantId: 'tenant-1',
    runId: 'run-1',
    stepIndex: 0,
    attempt: 1,
    seed: 7,
    idempotencyKey: 'run-1:0',
    timeoutMs: 5_000,
    ...overrides,
  };
}
