// A local webhook receiver for tests: verifies every delivery with the standardwebhooks package
// (as a real receiver would), records what it got, and answers what `answer` says.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  payload: {
    type: string;
    timestamp: string;
    data: { eventId: string; streamId: string; streamPosition: number };
  };
  verified: boolean;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startWebhookReceiver(
  /** The HTTP status to answer a delivery with (its attempt number, 1-based, by webhook-id). */
  answer: (received: Received, attempt: number) => number = () => 204,
) {
  const received: Received[] = [];
  const attempts = new Map<string, number>();
  let secret: string | undefined;
  const server = createServer(async (request, response) => {
    const raw = await bodyOf(request);
    const headers = {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    };
    let verified = false;
    try {
      new Webhook(secret!).verify(raw, headers);
      verified = true;
    } catch {}
    const item: Received = {
      id: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      payload: JSON.parse(raw),
      verified,
    };
    const attempt = (attempts.get(item.id) ?? 0) + 1;
    attempts.set(item.id, attempt);
    const status = answer(item, attempt);
    if (status < 300) received.push(item);
    response.writeHead(status).end(status < 300 ? '' : 'receiver says no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    attempts,
    /** The secret deliveries are verified with (the one POST /v1/webhooks answered). */
    useSecret(value: string) {
      secret = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
