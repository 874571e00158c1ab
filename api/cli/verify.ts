// `aos verify FILE [--public-key PEM] [--json]`: checks an export file offline (replay/verify.ts).
// Exit status: 0 when everything holds, 1 when a problem was found, 2 on a usage error.

import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { parsePublicKey } from '../../infra/signing/signing-key.ts';
import type { VerifyReport } from '../../replay/verify.ts';
import { verifyFile } from '../../replay/verify-file.ts';

/** Files above this size show a progress bar (on a terminal). */
const PROGRESS_BYTES = 8 * 1024 * 1024;

class UsageError extends Error {}

/** A PEM public key file, or the JSON that GET /v1/export/public-key answers. */
async function readPublicKey(path: string): Promise<KeyObject> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the public key ${path}: ${(error as Error).message}`);
  }
  try {
    const pem = text.trimStart().startsWith('{')
      ? (JSON.parse(text) as { publicKeyPem: string }).publicKeyPem
      : text;
    return parsePublicKey(pem, `the public key ${path}`);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function plural(count: number, word: string) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function formatReport(file: string, report: VerifyReport, seconds: number): string {
  const out: string[] = [`aos verify ${file}`];
  const row = (label: string, value: string) => out.push(`  ${label.padEnd(12)}${value}`);
  row(
    'events',
    `${plural(report.events, 'event')} in ${plural(report.streams, 'stream')}, ${plural(report.lines, 'line')} (${report.format})`,
  );
  const manifest = report.manifest;
  if (manifest) {
    row(
      'manifest',
      `created ${manifest.createdAt}, filter ${JSON.stringify(manifest.filter)}, count ${manifest.count}`,
    );
  } else {
    row('manifest', 'MISSING');
  }
  row('merkle root', report.merkleRoot);
  const signature: Record<VerifyReport['signature'], string> = {
    valid: `valid (key ${report.keyId})`,
    invalid: `INVALID (manifest key ${report.keyId}, given key ${report.publicKeyId})`,
    unchecked: `NOT CHECKED: no --public-key given (manifest key ${report.keyId}); the chain alone does not prove who wrote the file`,
    missing: 'none (no manifest)',
  };
  row('signature', signature[report.signature]);
  if (report.ok) {
    row('result', 'OK: nothing was edited, deleted, inserted or reordered');
  } else {
    row('result', `FAILED: ${plural(report.problems.length, 'problem')}`);
    for (const problem of report.problems) {
      const where = problem.line === null ? 'manifest' : `line ${problem.line}`;
      const at =
        problem.streamId !== undefined
          ? ` ${problem.streamId}${problem.streamPosition !== undefined ? `@${problem.streamPosition}` : ''}`
          : '';
      out.push(`    ${where.padEnd(12)} ${problem.kind.padEnd(18)}${at}: ${problem.message}`);
    }
  }
  const rate = seconds > 0 ? Math.round(report.events / seconds) : report.events;
  out.push(
    `  verified ${plural(report.events, 'event')} in ${seconds.toFixed(2)} s (${rate.toLocaleString('en-US')} events/s)`,
  );
  return out.join('\n');
}

async function run(file: string, options: { publicKey?: string; json?: boolean; progress?: boolean }) {
  const publicKey = options.publicKey ? await readPublicKey(options.publicKey) : undefined;
  try {
    if (!(await stat(file)).isFile()) throw new Error('not a file');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let bar: SingleBar | null = null;
  const started = performance.now();
  const report = await verifyFile(file, {
    ...(publicKey ? { publicKey } : {}),
    onProgress: ({ bytes, totalBytes, lines }) => {
      if (options.progress === false || !process.stderr.isTTY || totalBytes < PROGRESS_BYTES) return;
      if (!bar) {
        bar = new SingleBar(
          { format: 'verifying [{bar}] {percentage}% | {lines} lines | {eta}s left', stream: process.stderr },
          undefined,
        );
        bar.start(totalBytes, 0, { lines: 0 });
      }
      bar.update(bytes, { lines: lines.toLocaleString('en-US') });
    },
  });
  (bar as SingleBar | null)?.stop();
  const seconds = (performance.now() - started) / 1000;
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ file, ...report, seconds, eventsPerSecond: report.events / seconds })}\n`,
    );
  } else {
    process.stdout.write(`${formatReport(file, report, seconds)}\n`);
  }
  return report.ok ? 0 : 1;
}

export function verifyCommand(program: Command): void {
  program
    .command('verify <file>')
    .description('check an export file offline: every hash, every chain, the manifest and its signature')
    .option('--public-key <pem>', "PEM file of the exporter's public key (aos keys export-public)")
    .option('--json', 'print the report as one JSON object')
    .option('--no-progress', 'no progress bar')
    .exitOverride((error) => {
      // Commander's usage errors (unknown option, missing file argument) are exit status 2.
      process.exit(error.exitCode === 0 ? 0 : 2);
    })
    .action(async (file: string, options: { publicKey?: string; json?: boolean; progress?: boolean }) => {
      try {
        process.exitCode = await run(file, options);
      } catch (error) {
        if (error instanceof UsageError) {
          console.error(`aos verify: ${error.message}`);
          process.exit(2);
        }
        throw error;
      }
    });
}
