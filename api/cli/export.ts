// `aos export [--stream S | --run R] [--from ISO] [--to ISO] [--format jsonl|cloudevents] [--out FILE]`:
// asks the server for an audit export (GET /v1/export, an auditor or admin key in AOS_API_KEY)
// and streams the body to the file (or stdout) as it arrives.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { ServerError } from './server-client.ts';

export interface ServerTarget {
  base: string;
  key: string | undefined;
}

export function serverTarget(env: Record<string, string | undefined> = process.env): ServerTarget {
  return { base: env.AOS_URL ?? `http://127.0.0.1:${env.AOS_PORT ?? 8080}`, key: env.AOS_API_KEY };
}

/** GET on the server; a non-2xx answer becomes a ServerError with the API's message. */
export async function getFromServer(target: ServerTarget, path: string, needsKey = true): Promise<Response> {
  if (needsKey && !target.key)
    throw new ServerError('set AOS_API_KEY to an API key (an auditor or admin key)');
  let response: Response;
  try {
    response = await fetch(new URL(path, target.base), {
      headers: target.key ? { authorization: `Bearer ${target.key}` } : {},
    });
  } catch (error) {
    throw new ServerError(`cannot reach AOS at ${target.base} (set AOS_URL): ${(error as Error).message}`);
  }
  if (!response.ok) {
    const text = await response.text();
    let message = text;
    try {
      const error = JSON.parse(text)?.error;
      if (error) message = `${error.code}: ${error.message}`;
    } catch {}
    throw new ServerError(`${response.status} ${message}`);
  }
  return response;
}

interface ExportOptions {
  stream?: string;
  run?: string;
  from?: string;
  to?: string;
  format: string;
  out?: string;
}

export function exportPath(options: ExportOptions): string {
  const query = new URLSearchParams();
  if (options.stream) query.set('stream', options.stream);
  if (options.run) query.set('run', options.run);
  if (options.from) query.set('from', options.from);
  if (options.to) query.set('to', options.to);
  query.set('format', options.format);
  return `/v1/export?${query}`;
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('download a signed audit export of your tenant (needs an auditor or admin key)')
    .option('--stream <id>', 'one stream')
    .option('--run <id>', 'one run (its stream run-<id>)')
    .option('--from <iso>', 'events recorded at or after this time')
    .option('--to <iso>', 'events recorded before this time')
    .option('--format <format>', 'jsonl or cloudevents', 'jsonl')
    .option('--out <file>', 'write to this file (default: stdout)')
    .action(async (options: ExportOptions) => {
      if (options.stream && options.run) throw new ServerError('give --stream or --run, not both');
      const response = await getFromServer(serverTarget(), exportPath(options));
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      let lines = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
          done(null, chunk);
        },
      });
      if (!options.out) {
        await pipeline(body, counter, process.stdout);
        return;
      }
      // Written under a temporary name: a broken download never leaves a file that looks whole.
      const temporary = `${options.out}.partial`;
      try {
        await pipeline(body, counter, createWriteStream(temporary));
        await rename(temporary, options.out);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      console.error(
        `exported ${lines - 1} events to ${options.out} (key ${response.headers.get('x-aos-key-id') ?? '?'}); check it with: aos verify ${options.out} --public-key <pem>`,
      );
    });
}
