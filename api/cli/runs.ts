// `aos runs [RUN_ID]`: the caller's runs through the server (AOS_API_KEY, any role that
// reads). Without an id, the run list (GET /v1/runs, filters and keyset pages) as a table or
// JSON; with one, the run's detail (GET /v1/runs/:id) or, with --events, its events.
import type { Command } from 'commander';
import { serverClient } from './server-client.ts';

/** An item of GET /v1/runs. */
interface RunRow {
  runId: string;
  status: string;
  agentId: string;
  costMicros: number;
  attempts: number;
  steps: number;
  createdAt: string;
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
        const path = `/v1/runs/${encodeURIComponent(runId)}${options.events ? '/events?limit=1000' : ''}`;
        console.log(JSON.stringify(await server.request('GET', path), null, 2));
        return;
      }
      const query = new URLSearchParams({ limit: options.limit });
      if (options.status) query.set('status', options.status);
      if (options.agent) query.set('agent', options.agent);
      if (options.since) query.set('start_time', options.since);
      if (options.until) query.set('end_time', options.until);
      if (options.cursor) query.set('cursor', options.cursor);
      const page = await server.request<{ items: RunRow[]; next_cursor: string | null }>(
        'GET',
        `/v1/runs?${query}`,
      );
      if (options.json) {
        console.log(JSON.stringify(page, null, 2));
        return;
      }
      console.log(page.items.length ? runsTable(page.items) : 'no runs');
      if (page.next_cursor) console.error(`more: aos runs --cursor ${page.next_cursor}`);
    });
}
