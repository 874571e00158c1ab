// The recoveries the failure catalog suggested for a run's failed attempts: what each would
// change in the step's next call, its confidence, and where it stands; a pending one can be
// accepted (applied to the step's next attempt) or rejected by a role that may decide.

import type { RunDetail } from '../../../client/index.ts';
import { api } from '../api.ts';
import { badge, errorState, h } from '../dom.ts';
import { time } from '../format.ts';
import type { PageContext } from '../page.ts';

type Recovery = RunDetail['recoveries'][number];

const describeChange = (recovery: Recovery) => {
  const parts = Object.entries(recovery.change).map(([field, value]) => `${field} → ${String(value)}`);
  return parts.length > 0 ? parts.join(', ') : 'retry the step as it is, once a person has looked';
};

function recoveryItem(runId: string, recovery: Recovery, context: PageContext, refresh: () => void) {
  const status = h('p', { role: 'status', class: 'muted' });
  const decide = (decision: 'accept' | 'reject') => async () => {
    try {
      status.textContent = decision === 'accept' ? 'Accepting…' : 'Rejecting…';
      await api.decideRecovery({
        params: { id: runId, recoveryId: recovery.recoveryId },
        body: { decision },
      });
      status.textContent = decision === 'accept' ? 'Accepted.' : 'Rejected.';
      refresh();
    } catch (error) {
      status.replaceChildren(errorState(error));
    }
  };
  const pending = recovery.status === 'pending';
  return h(
    'div',
    { class: 'approval' },
    h(
      'p',
      {},
      h(
        'strong',
        {},
        `Step ${recovery.stepIndex + 1}, attempt ${recovery.attempt} (${recovery.errorCode}): `,
      ),
      `${recovery.mode.replace('_', ' ')} — ${describeChange(recovery)} `,
      h(
        'span',
        { class: 'muted' },
        `confidence ${Math.round(recovery.confidence * 100)}%, ${time(recovery.suggestedAt)} `,
      ),
      badge(recovery.status),
      recovery.decidedBy ? h('span', { class: 'muted' }, ` by ${recovery.decidedBy}`) : '',
    ),
    pending && context.may('approve')
      ? h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', onclick: decide('accept') }, 'Accept'),
          h('button', { type: 'button', class: 'danger', onclick: decide('reject') }, 'Reject'),
        )
      : '',
    pending && !context.may('approve')
      ? h(
          'p',
          { class: 'muted' },
          `A ${context.me.role} key may not decide recoveries (operator or admin keys can).`,
        )
      : '',
    status,
  );
}

export function recoveriesPanel(
  runId: string,
  recoveries: Recovery[] | undefined,
  context: PageContext,
  refresh: () => void,
): HTMLElement | null {
  if (!recoveries || recoveries.length === 0) return null;
  const waiting = recoveries.some((r) => r.status === 'pending');
  return h(
    'section',
    { class: waiting ? 'panel warn' : 'panel', 'aria-labelledby': 'recoveries-title' },
    h('h2', { id: 'recoveries-title' }, waiting ? 'Waiting for a recovery decision' : 'Recoveries'),
    ...recoveries.map((recovery) => recoveryItem(runId, recovery, context, refresh)),
  );
}
