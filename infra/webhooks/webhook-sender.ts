// Sends one signed webhook: a POST of the JSON payload with the Standard Webhooks headers
// (webhook-id, webhook-timestamp, webhook-signature: HMAC-SHA256 over "id.timestamp.payload",
// made by the `standardwebhooks` package), through the same SSRF guard as http_call
// (infra/skills/address-guard.ts: local and private addresses refused unless allow-listed,
// checked again on every address a name resolves to). Redirects are not followed. Used by the
// webhook dispatcher and by the webhook_send skill.
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';
import { createAddressGuard } from '../skills/address-guard.ts';
import { readBodyCapped, snippet } from '../skills/http-support.ts';

export interface WebhookMessage {
  url: string;
  /** whsec_… */
  secret: string;
  /** The webhook-id header: the same on every attempt, so the receiver can deduplicate. */
  messageId: string;
  payload: string;
  now: Date;
  signal?: AbortSignal;
}

export interface WebhookSendResult {
  ok: boolean;
  /** The receiver's status; null when none answered. */
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

export interface WebhookSender {
  /** A URL's host refused by the SSRF rule (and not allow-listed), or undefined. */
  refusedHost(url: string): string | undefined;
  send(message: WebhookMessage): Promise<WebhookSendResult>;
  close(): Promise<void>;
}

export function createWebhookSender(
  options: { allowHosts?: readonly string[]; timeoutMs?: number } = {},
): WebhookSender {
  const guard = createAddressGuard({ allowHosts: options.allowHosts ?? [] });
  const dispatcher = new Agent({ connect: { lookup: guard.lookup }, keepAliveTimeout: 4_000 });
  const timeoutMs = options.timeoutMs ?? 10_000;

  const refusedHost = (url: string) => guard.checkHost(new URL(url).hostname)?.message;

  return {
    refusedHost,
    async send(message) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const refused = refusedHost(message.url);
      if (refused) return { ok: false, httpStatus: null, error: refused, durationMs: 0 };
      const signature = new Webhook(message.secret).sign(message.messageId, message.now, message.payload);
      const signal = message.signal
        ? AbortSignal.any([message.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs);
      try {
        const response = await request(message.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'aos-webhooks/1.0',
            'webhook-id': message.messageId,
            'webhook-timestamp': String(Math.floor(message.now.getTime() / 1000)),
            'webhook-signature': signature,
          },
          body: message.payload,
          signal,
          dispatcher,
        });
        const body = await readBodyCapped(response.body, 64 * 1024, undefined).catch(() => Buffer.alloc(0));
        const status = response.statusCode;
        if (status >= 200 && status < 300)
          return { ok: true, httpStatus: status, error: null, durationMs: elapsed() };
        const detail = snippet(body);
        return {
          ok: false,
          httpStatus: status,
          error: `answered ${status}${detail ? `: ${detail}` : ''}`,
          durationMs: elapsed(),
        };
      } catch (error) {
        const reason = signal.aborted
          ? `no answer within ${timeoutMs} ms`
          : String((error as Error).message ?? error);
        return { ok: false, httpStatus: null, error: reason, durationMs: elapsed() };
      }
    },
    close: () => dispatcher.close(),
  };
}
