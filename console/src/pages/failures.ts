// Failure as data for the tenant: its circuit breakers (each target's state — open ones first —
// failures counted in the window, when an open one lets a probe through; GET /v1/capabilities)
// and its failures by error code with the failure catalog's suggestion (GET /v1/failures).
import type { ResponseOf } from '../../../client/index.ts';
import type { Routes } from '../../../contracts/index.ts';
import { api } from '../api.ts';
import { badge, emptyState, errorState, h, loading } from '../dom.ts';
import { time } from '../format.ts';
import type { Page } from '../page.ts';

type Breaker = ResponseOf<Routes['capabilities']>['breakers'][number];
type Failure = ResponseOf<Routes['failures']>['items'][number];

function table(caption: string, testId: string, head: string[], rows: HTMLElement[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { 'data-testid': testId },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows),
    ),
  );
}

/** What a breaker's state means for the calls to its target. */
function breakerNote(breaker: Breaker): string {
  if (breaker.status === 'open') return `calls refused until ${time(breaker.halfOpenAt)}, then one probe`;
  if (breaker.status === 'half_open') return 'one probe call out; the others wait for it';
  return `${breaker.failures} failure(s) in the window`;
}

function breakersCard(breakers: Breaker[]): HTMLElement {
  const body =
    breakers.length === 0
      ? emptyState('No circuit breaker has counted a failure.', 'Targets that never failed are not listed.')
      : table(
          'Circuit breakers',
          'breakers',
          ['Target', 'State', 'What it means', 'Since'],
          breakers.map((breaker) =>
            h(
              'tr',
              { 'data-testid': `breaker-${breaker.target}` },
              h('th', { scope: 'row' }, breaker.target),
              h('td', {}, badge(breaker.status)),
              h('td', {}, breakerNote(breaker)),
              h('td', {}, time(breaker.since)),
            ),
          ),
        );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'breakers-title' },
    h('h2', { id: 'breakers-title' }, 'Circuit breakers'),
    body,
  );
}

function failuresCard(items: Failure[]): HTMLElement {
  const body =
    items.length === 0
      ? emptyState('No failed attempt recorded.')
      : table(
          'Failures by error code',
          'failures',
          ['Error code', 'Failures', 'First seen', 'Last seen', 'Skills', 'Suggestion'],
          items.map((item) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, item.errorCode),
              h('td', { class: 'num' }, item.failures),
              h('td', {}, time(item.firstAt)),
              h('td', {}, time(item.lastAt)),
              h('td', {}, item.skills.map((s) => `${s.skill} (${s.failures})`).join(', ')),
              h(
                'td',
                {},
                item.classification
                  ? `${item.classification.recovery.mode.replaceAll('_', ' ')} (${item.classification.category}, confidence ${item.classification.confidence})`
                  : '—',
              ),
            ),
          ),
        );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'failures-title' },
    h('h2', { id: 'failures-title' }, 'Failures'),
    body,
  );
}

export const failuresPage: Page = {
  title: 'Failures',
  render(container) {
    const breakers = h('div', {}, loading('circuit breakers'));
    const failures = h('div', {}, loading('failures'));
    container.append(breakers, failures);
    api
      .capabilities()
      .then((answer) => breakers.replaceChildren(breakersCard(answer.breakers)))
      .catch((error: unknown) => breakers.replaceChildren(errorState(error)));
    api
      .failures()
      .then(({ items }) => failures.replaceChildren(failuresCard(items)))
      .catch((error: unknown) => failures.replaceChildren(errorState(error)));
    return undefined;
  },
};
