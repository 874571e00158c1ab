// How CLI commands reach the live system: the typed client (client/) over the HTTP API
// (AOS_URL, AOS_API_KEY), because the embedded store belongs to the server's process.
import { AosClient, AosError } from '../../client/index.ts';

/** A CLI refusal that is not the server's (a file that is not JSON, conflicting options…). */
export class ServerError extends Error {
  override readonly name = 'ServerError';
}

export interface ServerClientOptions {
  /** Routes served without a key (the public key) need none. */
  needsKey?: boolean;
  /** Who AOS_API_KEY should be, for the message when it is missing. */
  keyHint?: string;
}

export function serverClient(
  env: Record<string, string | undefined> = process.env,
  { needsKey = true, keyHint = 'the system key for admin commands' }: ServerClientOptions = {},
): AosClient {
  const key = env.AOS_API_KEY;
  if (needsKey && !key) throw new ServerError(`set AOS_API_KEY to an API key (${keyHint})`);
  return new AosClient({ baseUrl: env.AOS_URL ?? `http://127.0.0.1:${env.AOS_PORT ?? 8080}`, apiKey: key });
}

/** The line the CLI prints for an error: the server's status and code first when it has them. */
export function cliMessage(error: unknown): string {
  if (error instanceof AosError) {
    if (error.status === 0) return `${error.message} (set AOS_URL)`;
    return `${error.status} ${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
