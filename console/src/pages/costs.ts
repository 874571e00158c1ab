// Charged costs by day, skill and model: a chart and the table of the same figures each.

import type { CostRow } from '../../../client/index.ts';
import { api } from '../api.ts';
import { barChart } from '../charts.ts';
import { emptyState, errorState, field, h, loading } from '../dom.ts';
import { usd } from '../format.ts';
import type { Page } from '../page.ts';

const groups = [
  ['day', 'By day'],
  ['skill', 'By skill'],
  ['model', 'By model'],
] as const;

function costTable(group: string, rows: CostRow[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, `Costs by ${group}`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[group, 'Charges', 'Charged', 'Estimated', 'Computed', 'Provider'].map((c) =>
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
            h('th', { scope: 'row' }, String(row[group as 'day'] ?? '—')),
            h('td', { class: 'num' }, row.charges),
            h('td', { class: 'num' }, usd(row.chargedMicros)),
            h('td', { class: 'num' }, usd(row.estimateMicros)),
            h('td', { class: 'num' }, usd(row.computedMicros)),
            h('td', { class: 'num' }, usd(row.providerMicros)),
          ),
        ),
      ),
    ),
  );
}

export const costsPage: Page = {
  title: 'Costs',
  render(container, { params, setParams }) {
    const start = h('input', { type: 'date', name: 'start_date', value: params.get('start_date') ?? '' });
    const end = h('input', { type: 'date', name: 'end_date', value: params.get('end_date') ?? '' });
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Cost date range' },
      field('From day', start),
      field('To day', end),
      h('button', { type: 'submit' }, 'Apply'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      setParams({ start_date: start.value || undefined, end_date: end.value || undefined });
    });
    container.append(form);
    const destroyers: (() => void)[] = [];
    const grid = h('div', { class: 'grid' });
    container.append(grid);
    for (const [group, title] of groups) {
      const section = h(
        'section',
        { class: 'card', 'aria-labelledby': `costs-${group}` },
        h('h2', { id: `costs-${group}` }, title),
        loading('costs'),
      );
      grid.append(section);
      api
        .costs({ query: { group_by: group, start_date: start.value, end_date: end.value } })
        .then(({ items }) => {
          section.lastChild?.remove();
          if (items.length === 0) {
            section.append(
              emptyState('No charges in this range.', 'Costs appear once a run has charged an attempt.'),
            );
            return;
          }
          const chart = barChart(
            `Charged per ${group}`,
            items.map((row) => String(row[group] ?? '—')),
            items.map((row) => row.chargedMicros),
            usd,
          );
          destroyers.push(chart.destroy);
          section.append(chart.figure, costTable(group, items));
        })
        .catch((error: unknown) => {
          section.lastChild?.remove();
          section.append(errorState(error));
        });
    }
    return () => {
      for (const destroy of destroyers) destroy();
    };
  },
};
