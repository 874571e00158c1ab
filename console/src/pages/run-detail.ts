// One run: its summary (and its parent and child runs), the approvals and recoveries waiting on
// it (with approve/reject, accept/reject for roles that may), its output, the lanes of its steps (parallel branches
// side by side, skipped steps and compensations marked) and its timeline: per step, its
// status, resolved input and output, each attempt, retry wait, charge and policy decision.

import type { RunDetail } from '../../../client/index.ts';
import { finalRunStatuses } from '../../../domain/run/run-statuses.ts';
import { AosError, api, download } from '../api.ts';
import { badge, emptyState, errorState, h, loading } from '../dom.ts';
import { ms, time, usd } from '../format.ts';
import { assignLanes, type LaneSegment, laneSegments, lanesSpanMs } from '../lanes.ts';
import type { Page, PageContext } from '../page.ts';
import { buildTimeline, type PendingApproval, type Timeline, type TimelineEntry } from '../timeline.ts';
import { recoveriesPanel } from './run-recoveries.ts';

const finalStatuses = new Set<string>(finalRunStatuses);

/** A run started by a step of this one (agent_invoke waits for it, agent_spawn does not). */
interface ChildRun {
  runId: string;
  stepId: string;
  mode: 'invoke' | 'spawn';
  status: string;
}
/** The run detail with its links to other runs, which servers before child runs do not send. */
type LinkedRun = RunDetail & { parentRunId?: string | null; children?: ChildRun[] };
type ShownValue = NonNullable<RunDetail['output']>;

const runLink = (runId: string) => h('a', { href: `#/runs/${runId}` }, h('code', {}, runId));

function summary(run: LinkedRun): HTMLElement {
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
  if (run.parentRunId) rows.push(['Parent run', runLink(run.parentRunId)]);
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
      const allowed = approval.approverRoles.includes(context.me.role);
      const may = context.may('approve') && allowed;
      return h(
        'div',
        { class: 'approval', 'data-testid': `approval-${approval.approvalId}` },
        h(
          'p',
          {},
          h('strong', {}, `Step ${approval.stepIndex + 1}: `),
          approval.reason,
          h('span', { class: 'muted' }, ` (expires ${time(approval.expiresAt)})`),
        ),
        escalation(approval),
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
              !context.may('approve')
                ? `${aKey(context.me.role)} may not decide approvals (operator or admin keys can).`
                : approval.escalatesAt && !approval.escalatedAt
                  ? `${aKey(context.me.role)} may decide this approval once it escalates (${time(approval.escalatesAt)}).`
                  : `${aKey(context.me.role)} may not decide this approval (${approval.approverRoles.join(' or ')} keys can).`,
            ),
        status,
      );
    }),
  );
}

/** "An admin key", "A viewer key". */
const aKey = (role: string) => `${/^[aeiou]/.test(role) ? 'An' : 'A'} ${role} key`;

/** Who may decide an approval, and whether it escalated or when it will. */
function escalation(approval: PendingApproval): HTMLElement {
  const who = `${approval.approverRoles.join(' or ')} may decide`;
  if (approval.escalatedAt) {
    return h(
      'p',
      { 'data-testid': 'escalation' },
      badge('escalated'),
      ` ${time(approval.escalatedAt)}: nobody decided in time, so now ${who}.`,
    );
  }
  return h(
    'p',
    { class: 'muted', 'data-testid': 'escalation' },
    approval.escalatesAt
      ? `Now ${who}; if still undecided it escalates ${time(approval.escalatesAt)} (the tenant's admins join).`
      : `${who.charAt(0).toUpperCase()}${who.slice(1)}.`,
  );
}

function childRuns(children: ChildRun[] | undefined): HTMLElement | null {
  if (!children || children.length === 0) return null;
  return h(
    'section',
    { 'aria-labelledby': 'children-title' },
    h('h2', { id: 'children-title' }, 'Child runs'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'Run'), h('th', {}, 'Step'), h('th', {}, 'Mode'), h('th', {}, 'Status')),
        ),
        h(
          'tbody',
          {},
          ...children.map((child) =>
            h(
              'tr',
              { 'data-child': child.runId },
              h('td', {}, runLink(child.runId)),
              h('td', {}, child.stepId),
              h('td', {}, child.mode === 'invoke' ? 'invoke (waited for)' : 'spawn (not waited for)'),
              h('td', {}, badge(child.status)),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A recorded value: in full, or (past the size the API shows) its hash and a truncated copy. */
function valueView(label: string, shown: ShownValue | null | undefined): HTMLElement | null {
  if (!shown) return null;
  const full = shown.value !== undefined;
  return h(
    'div',
    { class: 'value', 'data-value': label.toLowerCase() },
    h(
      'p',
      { class: 'value-head' },
      h('strong', {}, label),
      full ? '' : h('span', { class: 'badge badge-warn' }, 'truncated'),
      h('span', { class: 'hash', title: shown.hash }, `sha256 ${shown.hash.slice(0, 16)}…`),
    ),
    h('pre', {}, full ? JSON.stringify(shown.value, null, 2) : `${shown.truncated ?? ''}…`),
    full
      ? null
      : h('p', { class: 'muted' }, `Only the start is shown; the whole value has hash ${shown.hash}.`),
  );
}

function segmentView(segment: LaneSegment, next: LaneSegment | undefined, scale: number): HTMLElement {
  const percent = (value: number) => `${value.toFixed(2)}%`;
  const left = (segment.startMs / scale) * 100;
  // The segment's box runs to where the next one in its lane starts (or the end), so its label
  // has room even when the step itself took an instant; the bar inside is to scale.
  const room = Math.max((((next ? next.startMs : scale) - segment.startMs) / scale) * 100, 0.8);
  const duration = Math.max(segment.endMs - segment.startMs, 1);
  const width = Math.min(Math.max((duration / scale) * 100, 0.6) / room, 1) * 100;
  const marker = { step: '', skipped: '⊘ ', compensation: '↩ ' }[segment.kind];
  return h(
    'li',
    {
      class: `segment segment-${segment.kind}`,
      'data-lane-step': segment.stepIndex,
      'data-kind': segment.kind,
      'data-start': segment.startMs,
      'data-end': segment.endMs,
      style: `left:${percent(left)};width:${percent(Math.min(room, 100 - left))}`,
      title: `${segment.kind === 'compensation' ? 'compensation: ' : ''}${segment.label}: ${segment.status.replaceAll('_', ' ')}, +${ms(segment.startMs)} to +${ms(segment.endMs)}`,
    },
    h('span', { class: 'segment-label' }, marker, h('strong', {}, segment.label), ' ', badge(segment.status)),
    h(
      'span',
      { class: 'segment-span', style: `width:${percent(width)}`, 'aria-hidden': 'true' },
      ...segment.bars.map((bar) =>
        h('span', {
          class: `bar bar-${bar.compensation ? 'compensation' : bar.bar} tone-${bar.tone}`,
          style: `left:${percent(((bar.offsetMs - segment.startMs) / duration) * 100)};width:${percent(Math.max(((bar.spanMs ?? 0) / duration) * 100, 3))}`,
        }),
      ),
    ),
  );
}

function lanesView(run: RunDetail, timeline: Timeline): HTMLElement | null {
  const lanes = assignLanes(laneSegments(run.steps, timeline.steps), timeline.totalMs);
  if (lanes.length === 0) return null;
  const scale = lanesSpanMs(timeline.totalMs);
  return h(
    'section',
    { 'aria-labelledby': 'lanes-title', class: 'lanes-panel' },
    h('h2', { id: 'lanes-title' }, 'Lanes'),
    h(
      'p',
      { class: 'muted' },
      `Each step from its first event to its last, to scale (0 to ${ms(timeline.totalMs)}): pale while it waits (policy, budget, approval, retry), solid while a call is out. Steps that ran at the same time are in separate lanes. ↩ marks a compensation (purple), ⊘ a skipped step.`,
    ),
    h(
      'div',
      { class: 'lanes' },
      h(
        'div',
        { class: 'lanes-axis', 'aria-hidden': 'true' },
        h('span', {}, '0 ms'),
        h(
          'span',
          {
            style: `left:${((timeline.totalMs / scale) * 100).toFixed(2)}%`,
          },
          ms(timeline.totalMs),
        ),
      ),
      ...lanes.map((lane, index) =>
        h(
          'ol',
          { class: 'lane', 'aria-label': `Lane ${index + 1}`, 'data-lane': index },
          ...lane.map((segment, position) => segmentView(segment, lane[position + 1], scale)),
        ),
      ),
    ),
  );
}

function stepFacts(step: RunDetail['steps'][number]): HTMLElement {
  const lastInput = [...step.attempts].reverse().find((attempt) => attempt.input)?.input;
  const compensation = step.compensation;
  return h(
    'div',
    { class: 'facts' },
    step.dependsOn.length > 0 && h('p', { class: 'muted' }, `Depends on ${step.dependsOn.join(', ')}`),
    step.reason &&
      h(
        'p',
        { class: `reason tone-${step.status === 'skipped' ? 'muted' : 'bad'}` },
        h('strong', {}, step.status === 'skipped' ? 'Skipped: ' : 'Why: '),
        step.reason,
      ),
    compensation &&
      h(
        'p',
        { class: 'reason tone-warn' },
        h('strong', {}, '↩ Compensation: '),
        `${compensation.skill}, ${compensation.attempts.length} attempt(s), `,
        badge(step.status),
      ),
    h('div', { class: 'values' }, valueView('Input', lastInput), valueView('Output', step.output)),
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
        class: `bar bar-${entry.compensation ? 'compensation' : entry.bar} tone-${entry.tone}`,
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
        {
          class: `event tone-${entry.tone}${entry.compensation ? ' compensation' : ''}`,
          'data-kind': entry.kind,
        },
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
      `From submission to the last event: ${ms(timeline.totalMs)}. Bars: calls (solid), retry waits (striped) and compensations (purple), to scale.`,
    ),
    timeline.run.length > 0 &&
      h('div', { class: 'step' }, h('h3', {}, 'Submission'), entryList(timeline.run)),
    ...timeline.steps.map(({ index, entries }) => {
      const step = skills.get(index);
      return h(
        'div',
        { class: `step step-${step?.status ?? 'pending'}`, 'data-step': index },
        h(
          'h3',
          {},
          `Step ${index + 1} · ${step ? `${step.id} · ${step.skill}` : '?'} `,
          step && badge(step.status),
        ),
        step && stepFacts(step),
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
        const linked: LinkedRun = run;
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
          summary(linked),
          tools,
          approvals(runId, timeline.pending, context, () => void load()) ?? '',
          recoveriesPanel(runId, run.recoveries, context, () => void load()) ?? '',
          childRuns(linked.children) ?? '',
          run.output
            ? h(
                'section',
                { 'aria-labelledby': 'output-title' },
                h('h2', { id: 'output-title' }, 'Output'),
                valueView('Run output', run.output),
              )
            : '',
          timeline.steps.length === 0 && timeline.run.length === 0
            ? emptyState('No events recorded yet.')
            : h('div', {}, lanesView(run, timeline), timelineView(run, timeline)),
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
