// `aos export [--stream S | --run R] [--from ISO] [--to ISO] [--format jsonl|cloudevents] [--out FILE]`:
// asks the server for an audit export (GET /v1/export, an auditor or admin key in AOS_API_KEY)
// and streams the body to the file (or stdout) as it arrives.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { ServerError, serverClient } from './server-client.ts';

interface ExportOptions {
  stream?: string;
  run?: string;
  from?: string;
  to?: string;
  format: 'jsonl' | 'cloudevents';
  out?: string;
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
      const server = serverClient(process.env, { keyHint: 'an auditor or admin key' });
      const { stream, run, from, to, format } = options;
      const response = await server.raw('exportEvents', { query: { stream, run, from, to, format } });
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
