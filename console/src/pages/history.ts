// Status history: every status change of runs, approvals and budget days, with the current
// filters downloadable as CSV (the original AOS columns) or JSON Lines.

import type { StatusHistoryRow } from '../../../client/index.ts';
import { api, download } from '../api.ts';
import { badge, emptyState, errorState, field, h, loading, select } from '../dom.ts';
import { time } from '../format.ts';
import type { Page } from '../page.ts';
import { statuses } from './runs.ts';

export const historyPage: Page = {
  title: 'Status history',
  render(container, { params, setParams }) {
    const entityType = select(
      'entity_type',
      [
        ['', 'Any'],
        ['run', 'run'],
        ['approval', 'approval'],
        ['budget_day', 'budget day'],
      ],
      params.get('entity_type') ?? '',
    );
    const entityId = h('input', {
      name: 'entity_id',
      type: 'search',
      value: params.get('entity_id') ?? '',
      placeholder: 'a run id',
    });
    const newStatus = select(
      'new_status',
      [['', 'Any'], ...statuses.map((s): [string, string] => [s, s.replaceAll('_', ' ')])],
      params.get('new_status') ?? '',
    );
    const filters = () => ({
      // The select offers the entity types only.
      entity_type: (entityType.value || undefined) as 'run' | 'approval' | 'budget_day' | undefined,
      entity_id: entityId.value.trim() || undefined,
      new_status: newStatus.value || undefined,
    });
    const downloadStatus = h('p', { role: 'status', class: 'muted' });
    const save = (format: 'csv' | 'jsonl') => async () => {
      try {
        downloadStatus.textContent = `Preparing ${format.toUpperCase()}…`;
        const { bytes } = await download(
          api.raw('statusHistory', { query: { ...filters(), format } }),
          `status_history.${format}`,
        );
        downloadStatus.textContent = `Downloaded status_history.${format} (${bytes} bytes).`;
      } catch (error) {
        downloadStatus.replaceChildren(errorState(error));
      }
    };
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Filter status history' },
      field('Entity type', entityType),
      field('Entity id', entityId),
      field('New status', newStatus),
      h('button', { type: 'submit' }, 'Apply'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      setParams(filters());
    });
    const results = h('div', {}, loading('status history'));
    container.append(
      form,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', onclick: save('csv') }, 'Download CSV'),
        h('button', { type: 'button', class: 'secondary', onclick: save('jsonl') }, 'Download JSONL'),
      ),
      downloadStatus,
      results,
    );

    let rows: StatusHistoryRow[] = [];
    let next: string | null = null;
    const render = () => {
      if (rows.length === 0) {
        results.replaceChildren(
          emptyState('No status changes match.', 'Runs record one row per status change once they start.'),
        );
        return;
      }
      results.replaceChildren(
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('caption', { class: 'sr-only' }, 'Status changes'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...['Time', 'Entity', 'Id', 'From', 'To', 'Actor', 'Reason'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              ...rows.map((row) =>
                h(
                  'tr',
                  {},
                  h('td', {}, time(row.created_at)),
                  h('td', {}, row.entity_type),
                  h(
                    'td',
                    {},
                    row.entity_type === 'run'
                      ? h('a', { href: `#/runs/${row.entity_id}` }, h('code', {}, row.entity_id.slice(0, 8)))
                      : h('code', {}, row.entity_id),
                  ),
                  h('td', {}, row.old_status ? badge(row.old_status) : '—'),
                  h('td', {}, badge(row.new_status)),
                  h('td', {}, `${row.actor_type}${row.actor_id ? ` ${row.actor_id}` : ''}`),
                  h('td', { class: 'reason' }, row.reason ?? ''),
                ),
              ),
            ),
          ),
          next &&
            h('button', { type: 'button', class: 'secondary', onclick: () => void load(true) }, 'Load more'),
        ),
      );
    };
    const load = async (more = false) => {
      try {
        const page = await api.statusHistory({
          query: { ...filters(), limit: 100, cursor: more ? (next ?? undefined) : undefined },
        });
        rows = more ? [...rows, ...page.items] : page.items;
        next = page.next_cursor;
        render();
      } catch (error) {
        results.replaceChildren(errorState(error));
      }
    };
    void load();
    return undefined;
  },
};
