// A run's events turned into what the timeline shows: per step, each attempt with its
// duration, each retry's wait, each charge, policy decision and approval, the step's skip or
// its compensation (the attempts that undid it, marked), in recorded order. Pure over the
// events (no DOM), so the page only lays it out.

import type { RecordedEventView as RecordedEvent } from '../../client/index.ts';
import { ms, usd } from './format.ts';

export interface TimelineEntry {
  at: string;
  /** Milliseconds since the run was submitted. */
  offsetMs: number;
  kind: string;
  title: string;
  detail: string;
  tone: 'ok' | 'bad' | 'warn' | 'info' | 'muted';
  /** Drawn as a bar from offsetMs for this long: an attempt's call, a retry's wait. */
  spanMs?: number;
  bar?: 'attempt' | 'wait';
  /** Part of the step's compensation (undoing it after the run failed), not its own attempts. */
  compensation?: boolean;
}

export interface StepTimeline {
  index: number;
  entries: TimelineEntry[];
}

export interface PendingApproval {
  approvalId: string;
  stepIndex: number;
  reason: string;
  expiresAt: string;
  /** Who may decide it now: the policy's approvers until it escalates, then the wider set. */
  approverRoles: string[];
  /** When it escalates if still undecided (absent: it does not). */
  escalatesAt?: string;
  /** When it was escalated. */
  escalatedAt?: string;
}

/** Who decides an approval when its policy names nobody (domain/actor.ts approverRoles). */
const defaultApproverRoles = ['admin', 'operator'];
const roles = (value: unknown): string[] =>
  Array.isArray(value) ? value.map((role) => String(role)) : defaultApproverRoles;

export interface Timeline {
  startedAt: string | null;
  totalMs: number;
  /** Run-level events before the steps (submission, estimate) and after (cancel, end). */
  run: TimelineEntry[];
  end: TimelineEntry[];
  steps: StepTimeline[];
  pending: PendingApproval[];
}

const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
const stepNumbers = (value: unknown) =>
  Array.isArray(value) ? value.map((index) => `step ${num(index) + 1}`).join(', ') : '';

/** Run-level events that close the timeline, although some name a step (the one that failed). */
const endingTypes = new Set(['RunCompleted', 'RunCancelRequested', 'CompensationRequested']);

/** A compensation's attempt events read as such ("Compensation attempt 1 started"). */
function describe(event: RecordedEvent): Omit<TimelineEntry, 'at' | 'offsetMs'> | null {
  const described = describeEvent(event);
  if (!described || event.data.compensation !== true) return described;
  const title = `Compensation ${described.title.charAt(0).toLowerCase()}${described.title.slice(1)}`;
  return { ...described, title, compensation: true };
}

function describeEvent(event: RecordedEvent): Omit<TimelineEntry, 'at' | 'offsetMs'> | null {
  const d = event.data;
  switch (event.type) {
    case 'RunSubmitted':
      return { kind: 'run', title: 'Submitted', detail: `agent ${text(d.agentId)}`, tone: 'muted' };
    case 'RunEstimated': {
      const v1 = (d.v1 as { costMicros?: number } | undefined)?.costMicros ?? 0;
      const v2 = (d.v2 as { costMicros?: number } | undefined)?.costMicros ?? 0;
      return {
        kind: 'estimate',
        title: 'Estimated',
        detail: `v1 ${usd(v1)}, v2 ${usd(v2)}${d.flagged ? ' (flagged: infeasible)' : ''}`,
        tone: d.flagged ? 'warn' : 'muted',
      };
    }
    case 'PolicyDecided':
      return {
        kind: 'policy',
        title: `Policy: ${text(d.result).replaceAll('_', ' ')}`,
        detail: `rule ${text(d.ruleId)} (policy ${text(d.policyVersion)}): ${text(d.reason)}`,
        tone: d.result === 'allow' ? 'ok' : d.result === 'deny' ? 'bad' : 'warn',
      };
    case 'ApprovalRequested':
      return {
        kind: 'approval',
        title: 'Approval requested',
        detail: `${text(d.reason)}; expires ${text(d.expiresAt)}`,
        tone: 'warn',
      };
    case 'ApprovalGranted':
    case 'ApprovalRejected': {
      const actor = d.actor as { id?: string; role?: string } | undefined;
      const granted = event.type === 'ApprovalGranted';
      return {
        kind: 'approval',
        title: granted ? 'Approved' : 'Rejected',
        detail: `by ${text(actor?.role)} ${text(actor?.id)}${d.comment ? `: “${text(d.comment)}”` : ''}`,
        tone: granted ? 'ok' : 'bad',
      };
    }
    case 'ApprovalExpired':
      return { kind: 'approval', title: 'Approval expired', detail: `at ${text(d.expiresAt)}`, tone: 'bad' };
    case 'ApprovalEscalated':
      return {
        kind: 'approval',
        title: 'Approval escalated',
        detail: `still undecided: now ${roles(d.approverRoles).join(' or ')} may decide it`,
        tone: 'warn',
      };
    case 'ApprovalClosed':
      return {
        kind: 'approval',
        title: 'Approval closed',
        detail: `undecided when the run ended (${text(d.runStatus).replaceAll('_', ' ')}): ${text(d.reason).replaceAll('_', ' ')}`,
        tone: 'muted',
      };
    case 'StepSkipped':
      return { kind: 'skip', title: 'Skipped', detail: text(d.reason), tone: 'muted' };
    case 'CompensationRequested':
      return {
        kind: 'compensation',
        title: 'Compensation requested',
        detail: `step ${num(d.stepIndex) + 1} failed (${text(d.errorCode)}): undoing ${stepNumbers(d.steps)}, in this order`,
        tone: 'warn',
      };
    case 'StepCompensated':
      return {
        kind: 'compensation',
        title: d.outcome === 'succeeded' ? 'Compensated' : 'Compensation failed',
        detail: `${num(d.attempts)} attempt(s)${d.errorCode ? `; ${text(d.errorCode)}` : ''}${d.reason ? `; ${text(d.reason)}` : ''}`,
        tone: d.outcome === 'succeeded' ? 'warn' : 'bad',
        compensation: true,
      };
    case 'SkillCallStarted':
      return {
        kind: 'attempt',
        title: `Attempt ${num(d.attempt)} started`,
        detail: `${text(d.skill)}; reserved ${usd(num(d.reservedMicros))}, estimate ${usd(num(d.estimateMicros))}`,
        tone: 'info',
      };
    case 'SkillCallSucceeded':
      return {
        kind: 'attempt',
        title: `Attempt ${num(d.attempt)} succeeded`,
        detail: `took ${ms(num(d.latencyMs))}`,
        tone: 'ok',
      };
    case 'SkillCallFailed':
      return {
        kind: 'attempt',
        title: `Attempt ${num(d.attempt)} failed: ${text(d.errorCode)}`,
        detail: `${text(d.category)}${d.retryable ? ', retryable' : ''}; took ${ms(num(d.latencyMs))}; ${text(d.message)}`,
        tone: 'bad',
      };
    case 'CostCharged':
      return {
        kind: 'charge',
        title: `Charged ${usd(num(d.chargedMicros))}`,
        detail: `attempt ${num(d.attempt)}: estimate ${usd(num(d.estimateMicros))}, computed ${usd(num(d.computedMicros))}${
          d.providerMicros === undefined ? '' : `, provider ${usd(num(d.providerMicros))}`
        }; price table ${text(d.priceTableVersion)}`,
        tone: 'muted',
      };
    case 'RetryScheduled':
      return {
        kind: 'retry',
        title: `Retry after ${ms(num(d.delayMs))}`,
        detail: `attempt ${num(d.attempt)} failed with ${text(d.errorCode)}; attempt ${num(d.nextAttempt)} due ${text(d.dueAt)}`,
        tone: 'warn',
        spanMs: num(d.delayMs),
        bar: 'wait',
      };
    case 'BudgetExceeded':
      return {
        kind: 'budget',
        title: `Budget exceeded (${text(d.scope).replaceAll('_', ' ')})`,
        detail: `requested ${usd(num(d.requestedMicros))}, remaining ${usd(num(d.remainingMicros))}`,
        tone: 'bad',
      };
    case 'StepCompleted':
      return {
        kind: 'step',
        title: `Step ${text(d.outcome)}`,
        detail: `${num(d.attempts)} attempt(s)${d.errorCode ? `; ${text(d.errorCode)}` : ''}${d.reason ? `; ${text(d.reason)}` : ''}`,
        tone: d.outcome === 'succeeded' ? 'ok' : 'bad',
      };
    case 'ChildRunStarted':
      return {
        kind: 'child',
        title: `Child run started (${d.mode === 'invoke' ? 'waited for' : 'spawned'})`,
        detail: `${text(d.childRunId)} as agent ${text(d.agentId)}; budget ${usd(num(d.budgetMicros))} carved out`,
        tone: 'info',
      };
    case 'ChildRunRefused':
      return {
        kind: 'child',
        title: `Child run refused: ${text(d.errorCode)}`,
        detail: text(d.reason),
        tone: 'bad',
      };
    case 'ChildRunEnded':
      return {
        kind: 'child',
        title: `Child run ${text(d.status).replaceAll('_', ' ')}`,
        detail: `${text(d.childRunId)} spent ${usd(num(d.chargedMicros))}; ${text(d.reason)}`,
        tone: d.status === 'succeeded' ? 'ok' : 'bad',
      };
    case 'ChildCancelRequested':
      return { kind: 'child', title: 'Child run asked to cancel', detail: text(d.childRunId), tone: 'warn' };
    case 'RunCancelRequested':
      return { kind: 'run', title: 'Cancellation requested', detail: text(d.reason), tone: 'warn' };
    case 'RunPaused':
      return {
        kind: 'run',
        title: 'Paused by the emergency stop',
        detail: `the stop of ${d.stopTenantId === null ? 'every tenant' : `tenant ${text(d.stopTenantId)}`} (since ${text(d.stoppedAt)}): no attempt starts until it is lifted`,
        tone: 'warn',
      };
    case 'RunResumed':
      return { kind: 'run', title: 'Resumed', detail: 'the emergency stop was lifted', tone: 'info' };
    case 'RunCompleted':
      return {
        kind: 'run',
        title: `Run ${text(d.status).replaceAll('_', ' ')}`,
        detail: `${text(d.reason)}; charged ${usd(num(d.chargedMicros))}`,
        tone: d.status === 'succeeded' ? 'ok' : 'bad',
      };
    default:
      return null;
  }
}

export function buildTimeline(events: readonly RecordedEvent[]): Timeline {
  const instant = (event: RecordedEvent) => text(event.data.at) || event.recordedAt;
  const startedAt = events[0] ? instant(events[0]) : null;
  const start = startedAt ? Date.parse(startedAt) : 0;
  const run: TimelineEntry[] = [];
  const ending: TimelineEntry[] = [];
  const steps = new Map<number, TimelineEntry[]>();
  const open = new Map<string, PendingApproval>();
  let end = start;
  for (const event of events) {
    const at = instant(event);
    const offsetMs = Math.max(0, Date.parse(at) - start);
    end = Math.max(end, Date.parse(at));
    const d = event.data;
    if (event.type === 'ApprovalRequested') {
      open.set(text(d.approvalId), {
        approvalId: text(d.approvalId),
        stepIndex: num(d.stepIndex),
        reason: text(d.reason),
        expiresAt: text(d.expiresAt),
        approverRoles: roles(d.approverRoles),
        ...(d.escalatesAt === undefined ? {} : { escalatesAt: text(d.escalatesAt) }),
      });
    } else if (event.type === 'ApprovalEscalated') {
      // Still waiting, for a wider set of approvers.
      const approval = open.get(text(d.approvalId));
      if (approval) Object.assign(approval, { approverRoles: roles(d.approverRoles), escalatedAt: at });
    } else if (event.type.startsWith('Approval')) {
      open.delete(text(d.approvalId));
    }
    const described = describe(event);
    if (!described) continue;
    const entry: TimelineEntry = { at, offsetMs, ...described };
    // An attempt's bar runs from its start for the latency its outcome reports.
    if (event.type === 'SkillCallSucceeded' || event.type === 'SkillCallFailed') {
      const latency = num(d.latencyMs);
      Object.assign(entry, { offsetMs: Math.max(0, offsetMs - latency), spanMs: latency, bar: 'attempt' });
    }
    if (entry.spanMs) end = Math.max(end, start + entry.offsetMs + entry.spanMs);
    if (endingTypes.has(event.type)) {
      ending.push(entry);
    } else if (typeof d.stepIndex === 'number') {
      const list = steps.get(d.stepIndex) ?? [];
      list.push(entry);
      steps.set(d.stepIndex, list);
    } else {
      run.push(entry);
    }
  }
  return {
    startedAt,
    totalMs: end - start,
    run,
    end: ending,
    steps: [...steps.entries()].sort(([a], [b]) => a - b).map(([index, entries]) => ({ index, entries })),
    pending: [...open.values()],
  };
}
