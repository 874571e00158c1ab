// One spec per projection (projections/all.ts): a recorded run — a failed attempt retried, two
// steps, two charges — folded through each, and the rows it must leave. The figures are read
// from the run's own events, so each spec says what the projection derives, not what it printed.
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { withFailureCatalogHash } from '../../domain/failure-catalog.ts';
import { defaultFailureCatalog } from '../../domain/failure-catalog-default.ts';
import type { RunCommand } from '../../domain/run/commands.ts';
import { costsProjection } from '../../projections/costs.ts';
import { failuresProjection } from '../../projections/failures.ts';
import { policyDecisionsProjection } from '../../projections/policy-decisions.ts';
import { runsProjection } from '../../projections/runs.ts';
import { statusHistoryProjection } from '../../projections/status-history.ts';
import { projectionSpec, recorded } from '../domain/projection-spec.ts';
import { evaluate, fail, history, start, submit, succeed } from '../domain/run/fixtures.ts';

const run = history(
  submit(),
  evaluate(1),
  start(2),
  fail(3, 'HTTP_5XX'),
  evaluate(60_000),
  start(60_001, 'res-2'),
  succeed(60_002),
  evaluate(60_003),
  start(60_004, 'res-3', 0),
  succeed(60_005, 1),
);
const events = recorded('run-run-1', run);
const of = <T extends RunEvent['type']>(type: T) =>
  run.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
const charges = of('CostCharged').map((e) => e.data);
const completed = of('RunCompleted')[0]!.data;

describe('projection specs', () => {
  it('runs: one row per run, its final status, cost and attempts', () => {
    projectionSpec(runsProjection)
      .given(events)
      .thenMatches([
        {
          run_id: 'run-1',
          tenant_id: 'tenant-1',
          agent_id: 'researcher',
          status: 'succeeded',
          cost_micros: completed.chargedMicros,
          attempts: of('SkillCallStarted').length,
          created_at: events[0]!.recordedAt,
          updated_at: completed.at,
        },
      ]);
  });

  it('status history: every transition of the run, in order, with its reason', () => {
    const rows = projectionSpec(statusHistoryProjection)
      .given(events)
      .thenMatches([
        { entity_type: 'run', old_status: null, new_status: 'queued', reason: 'submitted', sequence: 1 },
        { old_status: 'queued', new_status: 'running', sequence: 2 },
        { old_status: 'running', new_status: 'retrying', sequence: 3 },
        { old_status: 'retrying', new_status: 'running', sequence: 4 },
        { old_status: 'running', new_status: 'succeeded', reason: completed.reason, sequence: 5 },
      ]);
    expect(rows.every((row) => row.entity_id === 'run-1' && row.tenant_id === 'tenant-1')).toBe(true);
    expect(rows[2]!.reason).toMatch(/^HTTP_5XX; attempt 2 due /);
  });

  it('costs: the charges summed by day, skill and model', () => {
    expect(charges).toHaveLength(2);
    projectionSpec(costsProjection)
      .given(events)
      .then([
        ...[0, 1].map((i) => ({
          tenant_id: 'tenant-1',
          day: charges[i]!.at.slice(0, 10),
          skill: i === 0 ? 'llm_invoke' : 'json_transform',
          model: 'stub',
          charges: 1,
          charged_micros: charges[i]!.chargedMicros,
          computed_micros: charges[i]!.computedMicros,
          provider_micros: 0,
          estimate_micros: charges[i]!.estimateMicros,
        })),
      ]);
  });

  it('failures: the failed attempt, by error code and skill', () => {
    const failed = of('SkillCallFailed');
    expect(failed).toHaveLength(1);
    projectionSpec(failuresProjection, 'rm_failures')
      .given(events)
      .then([
        {
          tenant_id: 'tenant-1',
          error_code: 'HTTP_5XX',
          skill: 'llm_invoke',
          failures: 1,
          last_at: failed[0]!.data.at,
          first_at: failed[0]!.data.at,
        },
      ]);
  });

  it('failures: what the catalog said of each code and skill, first and last seen', () => {
    const catalog = withFailureCatalogHash(defaultFailureCatalog);
    const classified = history(
      submit(),
      evaluate(1),
      start(2),
      { ...fail(3, 'HTTP_5XX'), failureCatalog: catalog } as RunCommand,
      evaluate(60_000),
      start(60_001, 'res-2'),
      { ...fail(60_002, 'HTTP_5XX'), failureCatalog: catalog } as RunCommand,
    );
    const failed = classified.filter((e) => e.type === 'SkillCallFailed');
    const given = recorded('run-run-1', classified);
    projectionSpec(failuresProjection, 'rm_failures')
      .given(given)
      .then([
        {
          tenant_id: 'tenant-1',
          error_code: 'HTTP_5XX',
          skill: 'llm_invoke',
          failures: 2,
          last_at: failed[1]!.data.at,
          first_at: failed[0]!.data.at,
        },
      ]);
    projectionSpec(failuresProjection, 'rm_failure_classes')
      .given(given)
      .then([
        {
          tenant_id: 'tenant-1',
          error_code: 'HTTP_5XX',
          skill: 'llm_invoke',
          catalog_version: 'aos-default-1',
          entry_id: 'http_5xx',
          category: 'TRANSIENT',
          retry: true,
          recovery: { mode: 'retry_later', params: {} },
          confidence: 0.8,
          automatic: false,
          at: failed[1]!.data.at,
        },
      ]);
    // Runs reach a Kafka consumer in any order: the row is the latest classification, not the
    // last to arrive.
    const first = given.findIndex((e) => e.type === 'FailureClassified');
    const arrivedLate = [...given.slice(0, first), ...given.slice(first + 1), given[first]!];
    projectionSpec(failuresProjection, 'rm_failure_classes')
      .given(arrivedLate)
      .thenMatches([{ at: failed[1]!.data.at }]);
  });

  it('policy decisions: one row per decision, with its rule and result', () => {
    const decided = of('PolicyDecided').map((e) => e.data);
    expect(decided).toHaveLength(3);
    projectionSpec(policyDecisionsProjection)
      .given(events)
      .thenMatches(
        decided.map((d) => ({
          decision_id: d.decisionId,
          run_id: 'run-1',
          step_index: d.stepIndex,
          attempt: d.attempt,
          policy_version: d.policyVersion,
          result: 'allow',
        })),
      );
  });
});
