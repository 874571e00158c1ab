// Each scenario records one row; the suite's teardown prints the table and writes
// tests/reliability/RESULTS.md.
import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export interface ScenarioRow {
  scenario: string;
  operations: number;
  faults: string;
  acknowledged: number;
  lost: number;
  duplicated: number;
  fiveXX: number;
  notes?: string;
}

const rowsFile = 'tests/reliability/.rows.jsonl';

export function recordScenario(row: ScenarioRow): void {
  appendFileSync(rowsFile, `${JSON.stringify(row)}\n`);
}

export function resetRows(): void {
  rmSync(rowsFile, { force: true });
}

export function writeReport(): string {
  const rows: ScenarioRow[] = existsSync(rowsFile)
    ? readFileSync(rowsFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];
  const table = [
    '| scenario | operations | faults injected | acknowledged | lost | duplicated | 5xx | notes |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.operations} | ${r.faults} | ${r.acknowledged} | ${r.lost} | ${r.duplicated} | ${r.fiveXX} | ${r.notes ?? ''} |`,
    ),
  ].join('\n');
  const page = `# Reliability results

Written by \`npm run test:reliability\` on ${new Date().toISOString()} (nproc ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}), against PostgreSQL on this machine.

${table}
`;
  writeFileSync('tests/reliability/RESULTS.md', page);
  rmSync(rowsFile, { force: true });
  return table;
}
