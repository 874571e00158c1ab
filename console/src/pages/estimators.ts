// The estimators' health: the drift breaker (which estimator budgets rely on now) and the
// daily canary's latest verdict with its history, newest first (GET /v1/estimators/status,
// GET /v1/estimators/canary).
import type { ResponseOf } from '../../../client/index.ts';
import type { Routes } from '../../../contracts/index.ts';
import { api } from '../api.ts';
import { badge, emptyState, errorState, h, loading } from '../dom.ts';
import { ratio, time, usd } from '../format.ts';
import type { Page } from '../page.ts';

type Report = ResponseOf<Routes['listCanaryReports']>['items'][number];
type Status = ResponseOf<Routes['estimatorStatus']>;

function breakerCard(status: Status): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'breaker-title' },
    h('h2', { id: 'breaker-title' }, 'Drift breaker'),
    h('p', { 'data-testid': 'basis' }, `Budgets and simulate rely on ${status.basis}.`),
    h(
      'ul',
      {},
      ...status.estimators.map((state) =>
        h(
          'li',
          { 'data-testid': `estimator-${state.estimator}` },
          h('strong', {}, state.estimator),
          ' ',
          badge(state.enabled ? 'in service' : 'disabled'),
          state.severity ? ` ${state.severity}` : '',
          state.reason ? ` — ${state.reason} (${time(state.since)})` : '',
        ),
      ),
    ),
  );
}

function latestCard(report: Report): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'canary-latest' },
    h('h2', { id: 'canary-latest' }, 'Latest canary'),
    h(
      'p',
      { 'data-testid': 'latest-verdict' },
      badge(report.verdict),
      ` ${time(report.recordedAt)}, ${report.trigger === 'schedule' ? 'scheduled' : 'on demand'}: ${report.sampleSize} of ${report.candidates} runs re-estimated under prices ${report.priceTable.version}`,
    ),
    report.reasons.length > 0 && h('ul', {}, ...report.reasons.map((reason) => h('li', {}, reason))),
  );
}

function historyTable(reports: Report[]): HTMLElement {
  const head = [
    'Completed',
    'Trigger',
    'Verdict',
    'Runs',
    'v1',
    'v2',
    'v2 within',
    'v2 p90 error',
    'Datasets',
  ];
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { 'data-testid': 'canary-history' },
      h('caption', { class: 'sr-only' }, 'Canary history'),
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...reports.map((report) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, time(report.recordedAt)),
            h('td', {}, report.trigger.replace('_', ' ')),
            h('td', {}, badge(report.verdict)),
            h('td', { class: 'num' }, report.sampleSize),
            h('td', {}, report.severity.v1 ?? 'no drift'),
            h('td', {}, report.severity.v2 ?? 'no drift'),
            h('td', { class: 'num' }, ratio(report.metrics.v2.withinTolerance)),
            h('td', { class: 'num' }, usd(report.metrics.v2.p90AbsErrorMicros)),
            h(
              'td',
              { class: 'num' },
              `${report.metrics.datasets.filter((d) => d.asExpected).length}/${report.metrics.datasets.length} as declared`,
            ),
          ),
        ),
      ),
    ),
  );
}

export const estimatorsPage: Page = {
  title: 'Estimators',
  render(container) {
    const status = h('div', {}, loading('the drift breaker'));
    const canary = h('div', {}, loading('canary reports'));
    container.append(status, canary);
    api
      .estimatorStatus()
      .then((answer) => status.replaceChildren(breakerCard(answer)))
      .catch((error: unknown) => status.replaceChildren(errorState(error)));
    api
      .listCanaryReports({ query: { limit: 60 } })
      .then(({ items }) => {
        if (items.length === 0) {
          canary.replaceChildren(
            emptyState(
              'No canary has run yet.',
              'It runs once a day in aos serve; `aos canary run` runs it now.',
            ),
          );
          return;
        }
        canary.replaceChildren(
          latestCard(items[0]!),
          h(
            'section',
            { class: 'card', 'aria-labelledby': 'canary-history-title' },
            h('h2', { id: 'canary-history-title' }, 'History'),
            historyTable(items),
          ),
        );
      })
      .catch((error: unknown) => canary.replaceChildren(errorState(error)));
    return undefined;
  },
};
