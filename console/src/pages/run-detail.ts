// One run: its summary, the approvals waiting on it (with approve/reject for roles that may),
// and its timeline: per step, each attempt, retry wait, charge and policy decision.

import type { RunDetail } from '../../../client/index.ts';
import { finalRunStatuses } from '../../../domain/run/run-statuses.ts';
import { AosError, api, download } from '../api.ts';
import { badge, emptyState, errorState, h, loading } from '../dom.ts';
import { ms, time, usd } from '../format.ts';
import type { Page, PageContext } from '../page.ts';
import { buildTimeline, type PendingApproval, type Timeline, type TimelineEntry } from '../timeline.ts';

const finalStatuses = new Set<string>(finalRunStatuses);

function summary(run: RunDetail): HTMLElement {
  const rows: [string, Node | string][] = [
    ['Status', badge(run.status)],
    ['Agent', run.agentId],
    ['Cost charged', usd(run.costMicros)],
    [
      'Estimate (v1 / v2)',
      `${usd(run.estimate?.v1?.costMicros ?? 0)} / ${usd(run.estimate?.v2?.costMicros ?? 0)}`,
    ],
    ['Created', time(run.createdAt)],
    ['Updated', time(run.updatedAt)],
  ];
  if (run.reason) rows.push(['Reason', run.reason]);
  return h(
    'dl',
    { class: 'summary' },
    ...rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
}

function approvals(
  runId: string,
  pending: PendingApproval[],
  context: PageContext,
  refresh: () => void,
): HTMLElement | null {
  if (pending.length === 0) return null;
  return h(
    'section',
    { class: 'panel warn', 'aria-labelledby': 'approvals-title' },
    h('h2', { id: 'approvals-title' }, 'Waiting for approval'),
    ...pending.map((approval) => {
      const comment = h('input', {
        type: 'text',
        name: 'comment',
        maxlength: 2000,
        id: `comment-${approval.approvalId}`,
      });
      const status = h('p', { role: 'status', class: 'muted' });
      const decide = (decision: 'approve' | 'reject') => async () => {
        try {
          status.textContent = decision === 'approve' ? 'Approving…' : 'Rejecting…';
          await api.decideApproval({
            params: { id: runId, approvalId: approval.approvalId },
            body: { decision, ...(comment.value.trim() ? { comment: comment.value.trim() } : {}) },
          });
          status.textContent = decision === 'approve' ? 'Approved.' : 'Rejected.';
          refresh();
        } catch (error) {
          status.replaceChildren(errorState(error));
        }
      };
      const may = context.may('approve');
      return h(
        'div',
        { class: 'approval' },
        h(
          'p',
          {},
          h('strong', {}, `Step ${approval.stepIndex + 1}: `),
          approval.reason,
          h('span', { class: 'muted' }, ` (expires ${time(approval.expiresAt)})`),
        ),
        may
          ? h(
              'div',
              { class: 'actions' },
              h('label', { for: comment.id }, 'Comment (optional)'),
              comment,
              h('button', { type: 'button', onclick: decide('approve') }, 'Approve'),
              h('button', { type: 'button', class: 'danger', onclick: decide('reject') }, 'Reject'),
            )
          : h(
              'p',
              { class: 'muted' },
              `A ${context.me.role} key may not decide approvals (operator or admin keys can).`,
            ),
        status,
      );
    }),
  );
}

function bars(entries: TimelineEntry[], totalMs: number): HTMLElement {
  const track = h('div', { class: 'track', 'aria-hidden': 'true' });
  const scale = Math.max(totalMs, 1);
  for (const entry of entries) {
    if (!entry.bar) continue;
    const left = (entry.offsetMs / scale) * 100;
    const width = Math.max(((entry.spanMs ?? 0) / scale) * 100, 0.6);
    track.append(
      h('span', {
        class: `bar bar-${entry.bar} tone-${entry.tone}`,
        style: `left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%`,
        title: `${entry.title} (${ms(entry.spanMs)})`,
      }),
    );
  }
  return track;
}

function entryList(entries: TimelineEntry[]): HTMLElement {
  return h(
    'ol',
    { class: 'events' },
    ...entries.map((entry) =>
      h(
        'li',
        { class: `event tone-${entry.tone}`, 'data-kind': entry.kind },
        h('span', { class: 'offset' }, `+${ms(entry.offsetMs)}`),
        h(
          'span',
          { class: 'what' },
          h('strong', {}, entry.title),
          h('span', { class: 'detail' }, entry.detail),
        ),
      ),
    ),
  );
}

function timelineView(run: RunDetail, timeline: Timeline): HTMLElement {
  const skills = new Map(run.steps.map((step) => [step.index, step]));
  return h(
    'section',
    { 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title' }, 'Timeline'),
    h(
      'p',
      { class: 'muted' },
      `From submission to the last event: ${ms(timeline.totalMs)}. Bars: calls (solid) and retry waits (striped), to scale.`,
    ),
    timeline.run.length > 0 &&
      h('div', { class: 'step' }, h('h3', {}, 'Submission'), entryList(timeline.run)),
    ...timeline.steps.map(({ index, entries }) => {
      const step = skills.get(index);
      return h(
        'div',
        { class: 'step', 'data-step': index },
        h('h3', {}, `Step ${index + 1} · ${step?.skill ?? '?'} `, step && badge(step.status)),
        bars(entries, timeline.totalMs),
        entryList(entries),
      );
    }),
    timeline.end.length > 0 && h('div', { class: 'step' }, h('h3', {}, 'End'), entryList(timeline.end)),
  );
}

export const runDetailPage: Page = {
  title: 'Run',
  render(container, context) {
    const runId = context.id ?? '';
    const body = h('div', {}, loading('the run'));
    container.append(h('p', {}, h('a', { href: '#/runs' }, '← All runs')), body);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const load = async () => {
      clearTimeout(timer);
      try {
        const [run, events] = await Promise.all([
          api.getRun({ params: { id: runId } }),
          api.runEvents({ params: { id: runId }, query: { limit: 1000 } }),
        ]);
        if (stopped) return;
        const timeline = buildTimeline(events.events);
        const tools = h(
          'div',
          { class: 'actions' },
          h('a', { class: 'button secondary', href: `#/history?entity_id=${runId}` }, 'Status history'),
          context.may('export') &&
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                onclick: () =>
                  void download(api.raw('exportEvents', { query: { run: runId } }), `run-${runId}.jsonl`),
              },
              'Download signed export',
            ),
        );
        body.replaceChildren(
          h('h2', { class: 'run-id' }, h('span', { class: 'sr-only' }, 'Run '), h('code', {}, run.runId)),
          summary(run),
          tools,
          approvals(runId, timeline.pending, context, () => void load()) ?? '',
          timeline.steps.length === 0 && timeline.run.length === 0
            ? emptyState('No events recorded yet.')
            : timelineView(run, timeline),
        );
        // Until the run has ended, follow it.
        if (!finalStatuses.has(run.status)) timer = setTimeout(() => void load(), 1500);
      } catch (error) {
        if (stopped) return;
        // A malformed id (400) names no run either.
        const notFound = error instanceof AosError && (error.status === 404 || error.status === 400);
        body.replaceChildren(
          notFound
            ? emptyState(
                'No such run for this tenant.',
                'Check the id, or sign in with a key of the tenant that owns it.',
              )
            : errorState(error),
        );
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  },
};
