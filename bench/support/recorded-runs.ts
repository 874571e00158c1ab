// Recorded run histories for the replay benchmark: real runs driven through the run decider
// (the tests' scripted executor), wrapped in store envelopes with a real hash chain. Runs
// are submitted ten minutes apart (so reports span days); every fifth retries a rate-limited
// call, every eleventh fails for good.

import type { SkillOutcome } from '../../domain/skill.ts';
import type { RecordedEvent } from '../../domain/store/envelope.ts';
import { eventHash, GENESIS_HASH } from '../../domain/store/hash-chain.ts';
import { drive } from '../../tests/domain/run/driver.ts';
import { at, llmStep, submit, transformStep } from '../../tests/domain/run/fixtures.ts';

const usage = { model: 'stub', inputTokens: 1200, outputTokens: 80, cachedInputTokens: 300 };
const ok: SkillOutcome = { ok: true, output: { answer: 42 }, usage };

function outcomeFor(run: number) {
  return (step: number, attempt: number): SkillOutcome => {
    if (run % 11 === 0 && step === 0) return { ok: false, errorCode: 'HTTP_5XX', message: '502', usage };
    if (run % 5 === 0 && step === 0 && attempt === 1) {
      return { ok: false, errorCode: 'RATE_LIMITED', message: 'slow down', retryAfterMs: 2_000, usage };
    }
    return { ...ok, usage: { ...usage, inputTokens: 1000 + (run % 400) } };
  };
}

/** Yields recorded events of whole runs until at least `events` were yielded. */
export function* recordedRuns(events: number, tenantId = 'acme'): Generator<RecordedEvent> {
  let global = 0;
  for (let run = 0; global < events; run++) {
    const runId = `bench-${run}`;
    const { events: history } = drive(
      submit({
        runId,
        tenantId,
        now: at(run * 600_000),
        plan: { steps: [llmStep, transformStep, llmStep] },
      }),
      { outcome: outcomeFor(run) },
    );
    let prevHash = GENESIS_HASH;
    let recordedAt = at(run * 600_000);
    for (const [position, event] of history.entries()) {
      // Events without a clock reading of their own (RunEstimated) take their command's.
      recordedAt = (event.data as { at?: string }).at ?? recordedAt;
      const content = {
        eventId: `00000000-0000-4000-8000-${String(global).padStart(12, '0')}`,
        streamId: `run-${runId}`,
        streamPosition: position,
        type: event.type,
        schemaVersion: 1,
        data: JSON.parse(JSON.stringify(event.data)),
        metadata: { tenantId, correlationId: runId, actor: 'executor:bench' },
        recordedAt,
        prevHash,
      };
      prevHash = eventHash(content);
      yield { ...content, globalPosition: String(++global), hash: prevHash };
    }
  }
}
