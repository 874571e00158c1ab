// `npm run bench -- <suite> [--quick] [--json]`: runs one suite and prints its figures,
// each beside its anchor, with the machine it ran on.
import { suites } from './suites.ts';
import { formatJsonLines, formatMachine, formatTable, machineInfo } from './support/report.ts';

const USAGE = `usage: npm run bench -- <suite> [--quick] [--json]
  suites: ${Object.keys(suites).join(', ')}
  --quick  about a minute, 3 repetitions per figure
  --json   one JSON object per line on stdout (progress and machine go to stderr;
           use 'npm run -s bench' so that npm's banner stays off stdout)`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('-')));
const names = args.filter((a) => !a.startsWith('-'));
for (const flag of flags) {
  if (!['--quick', '--json', '--help', '-h'].includes(flag)) fail(`unknown option ${flag}`);
}
if (flags.has('--help') || flags.has('-h')) {
  console.log(USAGE);
  process.exit(0);
}
if (names.length !== 1) fail(names.length ? 'give one suite' : 'no suite given');
const name = names[0]!;
const load = suites[name];
if (!load) fail(`unknown suite "${name}"; suites: ${Object.keys(suites).join(', ')}`);

const json = flags.has('--json');
const quick = flags.has('--quick');
const machine = machineInfo();
const log = (line: string) => console.error(line);
const command = `npm run bench -- ${args.join(' ')}`;
log(`${command}\n${formatMachine(machine)}`);

const suite = await load();
const started = Date.now();
const figures = await suite.run({ quick, log });
const seconds = ((Date.now() - started) / 1000).toFixed(0);

if (json) {
  console.log(formatJsonLines(figures));
} else {
  console.log(`\n${suite.description}\n${formatMachine(machine)}\ncommand: ${command} (${seconds} s)\n`);
  console.log(formatTable(figures));
  console.log('\nvalue and anchor value: medians; ratio: median of per-repetition ratios (paired runs)');
}
const failed = figures.filter((f) => f.pass === false).length;
log(`${figures.length} figures, ${failed} below target, ${seconds} s`);
