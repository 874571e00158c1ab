// Cost divergence: the report's figures and alert state, the histogram of cost deltas of its
// newest samples, and drift over time (the report per day, from /v1/divergence/daily).
import type { ResponseOf } from '../../../client/index.ts';
import type { Routes } from '../../../contracts/index.ts';
import { api } from '../api.ts';
import { barChart, timeChart } from '../charts.ts';
import { emptyState, errorState, field, h, loading, select } from '../dom.ts';
import { ratio, usd } from '../format.ts';
import type { Page } from '../page.ts';

/**
 * Equal-width bins over the deltas (integer micro-dollars): about √n bins, 5 to 20, each a
 * whole number of micro-dollars wide, labelled by where it starts.
 */
export function histogram(values: number[]): { labels: string[]; counts: number[] } {
  if (values.length === 0) return { labels: [], counts: [] };
  const min = Math.min(...values);
  const max = Math.max(...values);
  const wanted = Math.max(5, Math.min(20, Math.ceil(Math.sqrt(values.length))));
  const width = Math.max(1, Math.ceil((max - min + 1) / wanted));
  const counts = new Array<number>(Math.floor((max - min) / width) + 1).fill(0);
  for (const value of values) counts[Math.floor((value - min) / width)]! += 1;
  const labels = counts.map((_, i) => (width === 1 ? usd(min + i) : `≥ ${usd(min + i * width)}`));
  return { labels, counts };
}

type DivergenceReport = ResponseOf<Routes['divergence']>;

function figures(report: DivergenceReport): HTMLElement {
  const items: [string, string][] = [
    ['Samples', String(report.sample_count)],
    ['Delta p50', usd(report.delta_p50)],
    ['Delta p90', usd(report.delta_p90)],
    ['KL divergence', report.kl_divergence.toFixed(4)],
    ['Outliers', String(report.outlier_count)],
    ['Fail ratio', ratio(report.fail_ratio)],
    ['Matching rate', ratio(report.matching_rate)],
  ];
  return h(
    'dl',
    { class: 'figures' },
    ...items.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value))),
  );
}

export const divergencePage: Page = {
  title: 'Divergence',
  render(container, { params, setParams }) {
    const days = select(
      'days',
      [
        ['1', 'Last day'],
        ['7', 'Last 7 days'],
        ['30', 'Last 30 days'],
        ['90', 'Last 90 days'],
      ],
      params.get('days') ?? '7',
    );
    const source = select(
      'source',
      [
        ['actual', 'Estimate vs charged'],
        ['estimators', 'Estimator v1 vs v2'],
      ],
      params.get('source') ?? 'actual',
    );
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Divergence window' },
      field('Window', days),
      field('Compare', source),
      h('button', { type: 'submit' }, 'Apply'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      setParams({ days: days.value, source: source.value });
    });
    const body = h('div', {}, loading('the divergence report'));
    container.append(form, body);
    const destroyers: (() => void)[] = [];
    // The select offers the two sources only.
    const query = { days: days.value, source: source.value as 'estimators' | 'actual' };
    Promise.all([api.divergence({ query }), api.divergenceDaily({ query })])
      .then(([report, daily]) => {
        const alert = report.drift_alert
          ? h(
              'p',
              { class: 'alert-state bad', role: 'status' },
              h('strong', {}, 'Drift alert'),
              ': estimates have drifted from what was charged in this window.',
            )
          : h(
              'p',
              { class: 'alert-state ok', role: 'status' },
              h('strong', {}, 'No drift alert'),
              ' in this window.',
            );
        if (report.sample_count === 0) {
          body.replaceChildren(
            alert,
            emptyState(
              'No samples in this window.',
              'Every charged step adds one; widen the window or run something.',
            ),
          );
          return;
        }
        const { labels, counts } = histogram(report.detailed_samples.map((s) => s.cost_delta));
        const hist = barChart(
          `Cost delta of the newest ${report.detailed_samples.length} samples (count per bin)`,
          labels,
          counts,
          (v) => String(Math.round(v)),
        );
        const times = daily.items.map((d) => Date.parse(`${d.day}T12:00:00Z`) / 1000);
        const drift = timeChart(
          'Matching rate per day: the share of samples whose estimate matched',
          times,
          daily.items.map((d) => d.matching_rate),
          ratio,
          { from: Date.parse(report.start_date) / 1000, to: Date.parse(report.end_date) / 1000, yMax: 1 },
        );
        destroyers.push(hist.destroy, drift.destroy);
        body.replaceChildren(
          alert,
          figures(report),
          h(
            'div',
            { class: 'grid' },
            h(
              'section',
              { class: 'card', 'aria-labelledby': 'hist-title' },
              h('h2', { id: 'hist-title' }, 'Cost deltas'),
              hist.figure,
            ),
            h(
              'section',
              { class: 'card', 'aria-labelledby': 'drift-title' },
              h('h2', { id: 'drift-title' }, 'Drift over time'),
              drift.figure,
              h(
                'div',
                { class: 'table-wrap' },
                h(
                  'table',
                  {},
                  h('caption', { class: 'sr-only' }, 'The report per day'),
                  h(
                    'thead',
                    {},
                    h(
                      'tr',
                      {},
                      ...['Day', 'Samples', 'Delta p90', 'Matching', 'Alert'].map((c) =>
                        h('th', { scope: 'col' }, c),
                      ),
                    ),
                  ),
                  h(
                    'tbody',
                    {},
                    ...daily.items.map((d) =>
                      h(
                        'tr',
                        {},
                        h('th', { scope: 'row' }, d.day),
                        h('td', { class: 'num' }, d.sample_count),
                        h('td', { class: 'num' }, usd(d.delta_p90)),
                        h('td', { class: 'num' }, ratio(d.matching_rate)),
                        h('td', {}, d.drift_alert ? 'alert' : 'ok'),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          ),
        );
      })
      .catch((error: unknown) => body.replaceChildren(errorState(error)));
    return () => {
      for (const destroy of destroyers) destroy();
    };
  },
};
