// The run list: filters, status badges, newest first, refreshed every few seconds.

import type { RunSummary } from '../../../client/index.ts';
import { runStatuses } from '../../../domain/run/run-statuses.ts';
import { AosError, api } from '../api.ts';
import { badge, emptyState, errorState, field, h, loading, select } from '../dom.ts';
import { shortId, time, usd } from '../format.ts';
import type { Page } from '../page.ts';

// The run statuses of the domain itself, so a filter never offers a status that does not exist.
export const statuses: readonly string[] = runStatuses;
const refreshMs = 2000;

export const runsPage: Page = {
  title: 'Runs',
  render(container, { params, setParams }) {
    const status = select(
      'status',
      [['', 'Any status'], ...statuses.map((s): [string, string] => [s, s.replaceAll('_', ' ')])],
      params.get('status') ?? '',
    );
    const agent = h('input', {
      name: 'agent',
      type: 'search',
      placeholder: 'e.g. researcher',
      value: params.get('agent') ?? '',
    });
    const live = h('input', { type: 'checkbox', name: 'live', checked: params.get('live') !== 'off' });
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Filter runs' },
      field('Status', status),
      field('Agent', agent),
      h('button', { type: 'submit' }, 'Apply'),
      h('label', { class: 'inline' }, live, ' Live refresh'),
    );
    const updated = h('p', { class: 'muted', 'aria-live': 'polite' });
    const results = h('div', {}, loading('runs'));
    container.append(form, updated, results);

    let items: RunSummary[] = [];
    let next: string | null = null;
    const filters = () => ({ status: status.value || undefined, agent: agent.value.trim() || undefined });

    const table = () => {
      if (items.length === 0) {
        return filters().status || filters().agent
          ? emptyState('No runs match these filters.', 'Clear a filter to see more.')
          : emptyState(
              'No runs yet.',
              'Submit one with POST /v1/runs or `aos submit`; it shows up here within seconds.',
            );
      }
      return h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'runs' },
          h('caption', { class: 'sr-only' }, 'Runs, newest first'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Run', 'Agent', 'Status', 'Steps', 'Attempts', 'Cost', 'Created', 'Updated'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            ...items.map((run) =>
              h(
                'tr',
                { 'data-run': run.runId },
                h(
                  'td',
                  {},
                  h(
                    'a',
                    { href: `#/runs/${run.runId}`, title: run.runId },
                    h('code', {}, shortId(run.runId)),
                  ),
                ),
                h('td', {}, run.agentId),
                h('td', {}, badge(run.status)),
                h('td', { class: 'num' }, run.steps),
                h('td', { class: 'num' }, run.attempts),
                h('td', { class: 'num' }, usd(run.costMicros)),
                h('td', {}, time(run.createdAt)),
                h('td', {}, time(run.updatedAt)),
              ),
            ),
          ),
        ),
        next &&
          h('button', { type: 'button', class: 'secondary', onclick: () => void load(true) }, 'Load more'),
      );
    };

    let inFlight = false;
    const load = async (more = false) => {
      if (inFlight) return;
      inFlight = true;
      try {
        // A refresh reloads as many rows as are shown, so "Load more" pages are not lost.
        const limit = more ? 50 : Math.max(50, Math.min(items.length, 500));
        const page = await api.listRuns({
          query: { ...filters(), limit, cursor: more ? (next ?? undefined) : undefined },
        });
        items = more ? [...items, ...page.items] : page.items;
        next = page.next_cursor;
        results.replaceChildren(table());
        updated.textContent = `${items.length} run(s) · updated ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
      } catch (error) {
        if (!(error instanceof AosError && error.status === 401)) results.replaceChildren(errorState(error));
      } finally {
        inFlight = false;
      }
    };

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      setParams({ ...filters(), live: live.checked ? undefined : 'off' });
    });
    live.addEventListener('change', () =>
      setParams({ ...filters(), live: live.checked ? undefined : 'off' }),
    );
    void load();
    const timer = setInterval(() => {
      if (live.checked && !document.hidden) void load();
    }, refreshMs);
    return () => clearInterval(timer);
  },
};
