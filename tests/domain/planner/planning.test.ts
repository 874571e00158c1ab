// The planning domain, pure: the rules' plan templates, the sandbox's verdicts, and the goal
// decider recording request, proposal and verdict once.
import { describe, expect, it } from 'vitest';
import type { AgentProfile } from '../../../domain/events/agent-events.ts';
import { goalDecider, type RecordPlanning } from '../../../domain/planner/goal-decider.ts';
import { planFromRules } from '../../../domain/planner/rules.ts';
import { checkProposal } from '../../../domain/planner/sandbox.ts';
import { deciderSpec } from '../spec.ts';

const profile: AgentProfile = {
  name: 'a',
  allowedSkills: ['http_call', 'llm_invoke'],
  defaultBudget: { maxCostMicros: 1_000_000, maxSteps: 10, deadlineMs: 60_000 },
  planner: 'rules',
};
const known = (skill: string) => ['http_call', 'llm_invoke', 'json_transform'].includes(skill);

describe('rule-based planner', () => {
  it('fetches every URL once, then summarises them by reference when asked', () => {
    const plan = planFromRules({
      goal: 'Summarize https://a.test/x, https://b.test/y and https://a.test/x.',
    });
    expect(plan.steps.map((s) => [s.id, s.skill])).toEqual([
      ['fetch1', 'http_call'],
      ['fetch2', 'http_call'],
      ['answer', 'llm_invoke'],
    ]);
    expect(plan.steps[0]!.input).toEqual({ method: 'GET', url: 'https://a.test/x' });
    expect(plan.steps[2]!.dependsOn).toEqual(['fetch1', 'fetch2']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${…} template of the plan language
    expect(plan.steps[2]!.input!.prompt).toContain('${steps.fetch2.output.body}');
  });

  it('answers a goal without URLs with one llm_invoke, the input model or stub', () => {
    expect(planFromRules({ goal: 'hello' }).steps).toEqual([
      { id: 'answer', skill: 'llm_invoke', input: { model: 'stub', prompt: 'hello' } },
    ]);
    expect(planFromRules({ goal: 'hi', input: { model: 'gpt' } }).steps[0]!.input!.model).toBe('gpt');
  });

  it('is deterministic', () => {
    const goal = { goal: 'explain https://a.test/' };
    expect(planFromRules(goal)).toEqual(planFromRules(goal));
  });
});

describe('plan sandbox', () => {
  const check = (plan: unknown, maxSteps = 10) =>
    checkProposal(JSON.stringify(plan), profile, { maxSteps }, known);

  it('accepts a valid plan of allowed skills', () => {
    expect(check(planFromRules({ goal: 'hello' })).violations).toEqual([]);
  });

  it('names every violation by path', () => {
    expect(checkProposal('not json', profile, { maxSteps: 10 }, known).violations).toEqual([
      { path: 'plan', message: 'the planner did not answer JSON' },
    ]);
    expect(check({ steps: [] }).violations[0]!.path).toBe('plan.steps');
    expect(check({ steps: [{ skill: 'json_transform' }, { skill: 'nope' }] }).violations).toEqual([
      { path: 'plan.steps.0.skill', message: 'skill json_transform is not allowed for this agent' },
      { path: 'plan.steps.1.skill', message: 'unknown skill nope' },
    ]);
    expect(
      check({ steps: [{ skill: 'llm_invoke', input: { p: { $ref: 'steps.x.output' } } }] }).violations,
    ).not.toEqual([]);
    expect(check(planFromRules({ goal: 'summarize https://a.test/' }), 1).violations).toEqual([
      { path: 'plan.steps', message: '2 steps exceed the limit of 1' },
    ]);
  });
});

describe('goal decider', () => {
  const command: RecordPlanning = {
    type: 'RecordPlanning',
    request: { runId: 'r1', agentId: 'a1', goal: 'hello', planner: 'rules', at: '2026-01-01T00:00:00.000Z' },
    proposal: { planner: 'rules', version: 'rules-1', promptHash: 'a'.repeat(64), rawOutput: '{}' },
    violations: [{ path: 'plan', message: 'no' }],
  };

  it('records request, proposal and rejection', () => {
    deciderSpec(goalDecider)
      .given([])
      .when(command)
      .thenMatches([{ type: 'PlanRequested' }, { type: 'PlanProposed' }, { type: 'PlanRejected' }]);
  });

  it('records an acceptable proposal without a verdict, and accepts it once its run exists', () => {
    const plan = {
      steps: [{ skill: 'llm_invoke', input: { model: 'stub', prompt: 'hi' }, onFailure: 'fail' as const }],
    };
    const { violations: _, ...acceptable } = command;
    deciderSpec(goalDecider)
      .given([])
      .when(acceptable)
      .thenMatches([{ type: 'PlanRequested' }, { type: 'PlanProposed' }]);
    const proposed = [
      { type: 'PlanRequested' as const, data: command.request },
      { type: 'PlanProposed' as const, data: command.proposal },
    ];
    deciderSpec(goalDecider)
      .given(proposed)
      .when({ type: 'AcceptPlan', plan })
      .thenMatches([{ type: 'PlanAccepted', data: { plan } }]);
    deciderSpec(goalDecider)
      .given([...proposed, { type: 'PlanAccepted', data: { plan } }])
      .when({ type: 'AcceptPlan', plan })
      .thenMatches([]);
    deciderSpec(goalDecider)
      .given([...proposed, { type: 'PlanRejected', data: { violations: [{ path: 'plan', message: 'no' }] } }])
      .when({ type: 'AcceptPlan', plan })
      .thenThrows('CONFLICT');
  });

  it('plans a goal once', () => {
    deciderSpec(goalDecider)
      .given([{ type: 'PlanRequested', data: command.request }])
      .when(command)
      .thenThrows('CONFLICT');
  });
});
