// `aos runs [RUN_ID]`: the caller's runs through the server (AOS_API_KEY, any role that
// reads). Without an id, the run list (GET /v1/runs, filters and keyset pages) as a table or
// JSON; with one, the run's detail (GET /v1/runs/:id) or, with --events, its events.
import type { Command } from 'commander';
import { AosError, type RunSummary } from '../../client/index.ts';
import { UsageError } from './replay.ts';
import { serverClient } from './server-client.ts';

type RunRow = Pick<
  RunSummary,
  'runId' | 'status' | 'agentId' | 'costMicros' | 'attempts' | 'steps' | 'createdAt'
>;

/** The option that set each query parameter, to name it when the server refuses one. */
const optionOf: Record<string, string> = {
  status: '--status',
  agent: '--agent',
  start_time: '--since',
  end_time: '--until',
  limit: '--limit',
  cursor: '--cursor',
};

/** A refused query as the options the user typed: "--since (start_time): Invalid ISO datetime". */
function asUsageError(error: unknown): unknown {
  if (!(error instanceof AosError) || error.code !== 'INVALID_INPUT') return error;
  const details = error.details as
    | { issues?: { path: unknown[]; message: string }[]; parameter?: string }
    | undefined;
  const problems = (details?.issues ?? []).map(({ path, message }) => {
    const parameter = String(path[0] ?? '');
    return `${optionOf[parameter] ?? parameter} (${parameter}): ${message}`;
  });
  if (details?.parameter)
    problems.push(`${optionOf[details.parameter] ?? details.parameter}: ${error.message}`);
  return problems.length > 0 ? new UsageError(problems.join('; ')) : error;
}

interface ListOptions {
  status?: string;
  agent?: string;
  since?: string;
  until?: string;
  limit: string;
  cursor?: string;
  events?: boolean;
  json?: boolean;
}

export function runsTable(rows: readonly RunRow[]): string {
  const header = ['run id', 'status', 'agent', 'steps', 'attempts', 'cost (µ$)', 'created at'];
  const cells = rows.map((r) => [
    r.runId,
    r.status,
    r.agentId,
    String(r.steps),
    String(r.attempts),
    String(r.costMicros),
    r.createdAt,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function runsCommand(program: Command): void {
  program
    .command('runs [runId]')
    .description("list this tenant's runs, or show one run (its detail, or with --events its events)")
    .option('--status <status>', 'only runs in this status')
    .option('--agent <agentId>', 'only runs of this agent')
    .option('--since <iso>', 'only runs created at or after this instant')
    .option('--until <iso>', 'only runs created before this instant')
    .option('--limit <n>', 'runs per page (at most 500)', '50')
    .option('--cursor <cursor>', 'the next page, as the previous one named it')
    .option('--events', "with a run id: the run's events")
    .option('--json', 'print the JSON the server answered')
    .action(async (runId: string | undefined, options: ListOptions) => {
      const server = serverClient();
      if (runId) {
        const params = { id: runId };
        const answer = options.events
          ? await server.runEvents({ params, query: { limit: 1000 } })
          : await server.getRun({ params });
        console.log(JSON.stringify(answer, null, 2));
        return;
      }
      const page = await server
        .listRuns({
          query: {
            limit: options.limit,
            status: options.status,
            agent: options.agent,
            start_time: options.since,
            end_time: options.until,
            cursor: options.cursor,
          },
        })
        .catch((error: unknown) => {
          throw asUsageError(error);
        });
      if (options.json) {
        console.log(JSON.stringify(page, null, 2));
        return;
      }
      console.log(page.items.length ? runsTable(page.items) : 'no runs');
      if (page.next_cursor) console.error(`more: aos runs --cursor ${page.next_cursor}`);
    });
}
