// The console's lane layout (console/src/lanes.ts), on its own: overlapping steps never share
// a lane, a sequence stays in one, a label gets its room, compensations and skips are segments.
import { describe, expect, it } from 'vitest';
import { assignLanes, LABEL_SHARE, type LaneSegment, laneSegments } from '../../console/src/lanes.ts';

const segment = (stepIndex: number, startMs: number, endMs: number): LaneSegment => ({
  stepIndex,
  kind: 'step',
  label: `s${stepIndex}`,
  status: 'succeeded',
  startMs,
  endMs,
  bars: [],
});
const lanesOf = (lanes: LaneSegment[][]) => lanes.map((lane) => lane.map((s) => s.stepIndex));

describe('console lanes', () => {
  it('puts steps whose spans overlap in separate lanes, and a sequence in one', () => {
    expect(
      lanesOf(assignLanes([segment(0, 0, 500), segment(1, 10, 600), segment(2, 20, 700)], 1000)),
    ).toEqual([[0], [1], [2]]);
    expect(
      lanesOf(assignLanes([segment(0, 0, 300), segment(1, 300, 600), segment(2, 600, 1000)], 1000)),
    ).toEqual([[0, 1, 2]]);
  });

  it('starts a new lane when the last segment of a free one started too recently for its label', () => {
    const short = LABEL_SHARE * 1000 - 1;
    expect(lanesOf(assignLanes([segment(0, 0, 1), segment(1, short, short + 10)], 1000))).toEqual([[0], [1]]);
  });

  it("makes a skipped step a marker and a compensation its own segment after the step's", () => {
    const entry = (offsetMs: number, compensation = false) => ({
      at: '',
      offsetMs,
      kind: 'attempt',
      title: '',
      detail: '',
      tone: 'ok' as const,
      spanMs: 10,
      bar: 'attempt' as const,
      ...(compensation ? { compensation } : {}),
    });
    const step = (index: number, id: string, status: string) => ({
      index,
      id,
      dependsOn: [],
      skill: 'http_call',
      status: status as 'succeeded',
      attempts: [],
      output: null,
      reason: null,
      compensation: null,
    });
    const segments = laneSegments(
      [step(0, 'book', 'compensated'), step(1, 'extra', 'skipped')],
      [
        { index: 0, entries: [entry(0), entry(500, true)] },
        { index: 1, entries: [{ ...entry(100), spanMs: 0, bar: undefined }] },
      ],
    );
    expect(segments.map((s) => [s.kind, s.label, s.startMs, s.endMs])).toEqual([
      ['step', 'book · http_call', 0, 10],
      ['skipped', 'extra · http_call', 100, 100],
      ['compensation', 'undo book', 500, 510],
    ]);
  });
});
