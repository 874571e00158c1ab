// The timeline's lanes: each step drawn as one segment from its first event to its last, to
// scale, and segments whose time spans overlap put in separate lanes (parallel branches of a
// DAG plan side by side; a linear plan stays in one lane). A skipped step is a marker where it
// was skipped; a compensation is its own segment, after the step, where it ran. Pure (no DOM).

import type { RunDetail } from '../../client/index.ts';
import type { StepTimeline, TimelineEntry } from './timeline.ts';

export interface LaneSegment {
  stepIndex: number;
  kind: 'step' | 'skipped' | 'compensation';
  /** What the segment ran: `id · skill`, or `undo id` for a compensation. */
  label: string;
  status: string;
  startMs: number;
  endMs: number;
  /** The attempts and retry waits inside it. */
  bars: TimelineEntry[];
}

type Step = RunDetail['steps'][number];

function segment(
  step: Step,
  kind: LaneSegment['kind'],
  entries: TimelineEntry[],
  label: string,
): LaneSegment | null {
  if (entries.length === 0) return null;
  const startMs = Math.min(...entries.map((entry) => entry.offsetMs));
  const endMs = Math.max(...entries.map((entry) => entry.offsetMs + (entry.spanMs ?? 0)));
  return {
    stepIndex: step.index,
    kind,
    label,
    status: step.status,
    startMs,
    endMs,
    bars: entries.filter((entry) => entry.bar),
  };
}

/** Every step's segment, and its compensation's when it ran, in the order they started. */
export function laneSegments(steps: readonly Step[], timeline: readonly StepTimeline[]): LaneSegment[] {
  const byIndex = new Map(timeline.map((step) => [step.index, step.entries]));
  return steps
    .flatMap((step) => {
      const entries = byIndex.get(step.index) ?? [];
      const own = entries.filter((entry) => !entry.compensation);
      const undo = entries.filter((entry) => entry.compensation);
      return [
        segment(step, step.status === 'skipped' ? 'skipped' : 'step', own, `${step.id} · ${step.skill}`),
        segment(step, 'compensation', undo, `undo ${step.id}`),
      ];
    })
    .filter((found): found is LaneSegment => found !== null)
    .sort((a, b) => a.startMs - b.startMs || a.stepIndex - b.stepIndex);
}

/** The share of the run's time a segment's label needs before the next segment in its lane. */
export const LABEL_SHARE = 0.2;

/** The time the lanes span: the run's, and room after it for the label of a segment at the end. */
export function lanesSpanMs(totalMs: number): number {
  return Math.max(totalMs * (1 + LABEL_SHARE), 1);
}

/**
 * Greedy interval partitioning: each segment goes in the first lane free when it starts — the
 * lane's last segment has ended, and started long enough before (LABEL_SHARE of `totalMs`)
 * for its label to be read.
 */
export function assignLanes(segments: readonly LaneSegment[], totalMs: number): LaneSegment[][] {
  const labelMs = totalMs * LABEL_SHARE;
  const lanes: LaneSegment[][] = [];
  for (const next of segments) {
    const free = lanes.find((lane) => {
      const last = lane.at(-1)!;
      return last.endMs <= next.startMs && last.startMs + labelMs <= next.startMs;
    });
    if (free) free.push(next);
    else lanes.push([next]);
  }
  return lanes;
}
