// The `aos` command line.
import { Command } from 'commander';
import { BootstrapKeyError } from '../infra/auth/bootstrap.ts';
import { ConfigError, loadConfig } from '../infra/config.ts';
import { SigningKeyError } from '../infra/signing/signing-key.ts';
import { canaryCommand } from './cli/canary.ts';
import { datasetsCommand } from './cli/datasets.ts';
import { divergenceCommand } from './cli/divergence.ts';
import { estimatorsCommand } from './cli/estimators.ts';
import { exportCommand } from './cli/export.ts';
import { kafkaCommands } from './cli/kafka.ts';
import { keysCommand } from './cli/keys.ts';
import { migrateCommand } from './cli/migrate.ts';
import { rebuildCommand } from './cli/rebuild.ts';
import { referenceDataCommands } from './cli/reference-data.ts';
import { replayCommand } from './cli/replay.ts';
import { runsCommand } from './cli/runs.ts';
import { cliMessage } from './cli/server-client.ts';
import { submitCommand } from './cli/submit.ts';
import { verifyCommand } from './cli/verify.ts';
import { serve } from './serve.ts';

function configOrExit() {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`aos: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

const program = new Command()
  .name('aos')
  .description('AOS: an event-sourced runtime for AI agents')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the HTTP API on the configured store (AOS_STORE, AOS_PORT, …)')
  .action(async () => {
    await serve(configOrExit());
  });

migrateCommand(program, configOrExit);
submitCommand(program);
runsCommand(program);
rebuildCommand(program);
exportCommand(program);
verifyCommand(program);
replayCommand(program);
divergenceCommand(program);
keysCommand(program);
referenceDataCommands(program);
kafkaCommands(program, configOrExit);
estimatorsCommand(program);
datasetsCommand(program);
canaryCommand(program);

await program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`aos: ${cliMessage(error)}`);
  // A setting that is wrong (like a malformed bootstrap key) is a usage error, as in configOrExit.
  process.exit(error instanceof BootstrapKeyError || error instanceof SigningKeyError ? 2 : 1);
});
