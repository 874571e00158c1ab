// `aos submit [FILE] [--idempotency-key KEY] [--wait]`: submits a run (the body of
// POST /v1/runs, read from FILE or stdin) through the server with an operator's key in
// AOS_API_KEY, prints the receipt, and with --wait follows the run to its final status.
import type { Command } from 'commander';
import type { RequestOf } from '../../client/index.ts';
import type { submitRun as submitRunRoute } from '../../contracts/runs.ts';
import { isFinalStatus } from '../../domain/run/status.ts';
import { readJsonInput } from './json-input.ts';
import { ServerError, serverClient } from './server-client.ts';

export function submitCommand(program: Command): void {
  program
    .command('submit [file]')
    .description(
      'submit a run: FILE (or stdin) holds {agentId, plan, budget, seed?} as POST /v1/runs takes it',
    )
    .option('--idempotency-key <key>', 'the same key again answers with the same run and writes nothing')
    .option('--wait', 'poll the run until it reaches a final status, then print it')
    .option('--timeout <seconds>', 'with --wait: give up after this long', '300')
    .action(
      async (
        file: string | undefined,
        options: { idempotencyKey?: string; wait?: boolean; timeout: string },
      ) => {
        const server = serverClient();
        const receipt = await server.submitRun({
          // Checked by the server against the same schema: the CLI sends the file as it is.
          body: (await readJsonInput(file)) as RequestOf<typeof submitRunRoute>['body'],
          headers: { 'idempotency-key': options.idempotencyKey },
        });
        if (!options.wait) {
          console.log(JSON.stringify(receipt, null, 2));
          return;
        }
        console.error(`submitted run ${receipt.runId}; waiting for it to finish`);
        const deadline = Date.now() + Number(options.timeout) * 1000;
        for (;;) {
          const run = await server.getRun({ params: { id: receipt.runId } });
          if (isFinalStatus(run.status)) {
            console.log(JSON.stringify(run, null, 2));
            if (run.status !== 'succeeded') process.exitCode = 1;
            return;
          }
          if (Date.now() > deadline)
            throw new ServerError(`run ${receipt.runId} still ${run.status} after ${options.timeout} s`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      },
    );
}
