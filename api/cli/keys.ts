// `aos keys export-public [--out FILE]`: the public key that checks export signatures, as PEM
// (GET /v1/export/public-key; served without an API key).
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { serverClient } from './server-client.ts';

export function keysCommand(program: Command): void {
  const keys = program.command('keys').description('keys of this installation');
  keys
    .command('export-public')
    .description("print (or write) the public key that checks the exports' signatures")
    .option('--out <file>', 'write the PEM to this file (default: stdout)')
    .action(async (options: { out?: string }) => {
      const { keyId, publicKeyPem } = await serverClient(process.env, { needsKey: false }).exportPublicKey();
      if (options.out) {
        await writeFile(options.out, publicKeyPem);
        console.error(`wrote public key ${keyId} to ${options.out}`);
      } else {
        process.stdout.write(publicKeyPem);
        console.error(`key id ${keyId}`);
      }
    });
}
