// The plan language: validation at submission (nothing recorded, every path named), how a
// v2 plan is recorded, and how a recorded v1 plan is upcast.
import { describe, expect, it } from 'vitest';
import { planGraph } from '../../../domain/plan/graph.ts';
import { resolveReferences } from '../../../domain/plan/references.ts';
import { planInputSchema } from '../../../domain/plan/schema.ts';
import { validatePlan } from '../../../domain/plan/validate.ts';
import { history, llmStep, openPolicy, spec, submit, transformStep } from './fixtures.ts';

const http = (id: string, extra = {}) => ({
  id,
  skill: 'http_call',
  input: { url: `http://api.example.com/${id}` },
  ...extra,
});
const issuesOf = (plan: unknown) => validatePlan(planInputSchema.parse(plan));

describe('plan validation', () => {
  it('accepts a DAG whose references all point upstream', () => {
    const plan = {
      steps: [
        http('a', { dependsOn: [] }),
        http('b', { dependsOn: [] }),
        {
          id: 'sum',
          skill: 'llm_invoke',
          dependsOn: ['a', 'b'],
          when: 'steps.a.output.status == `200`',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${…} template of the plan language, not JS
          input: { prompt: 'Summarise ${steps.a.output.body} and ${steps.b.output.body}' },
        },
      ],
      output: { $ref: 'steps.sum.output.text' },
    };
    expect(issuesOf(plan)).toEqual([]);
  });

  it('names an unknown dependency, a duplicate id and a cycle by path', () => {
    expect(issuesOf({ steps: [http('a'), http('b', { dependsOn: ['zzz'] })] })).toEqual([
      { path: 'plan.steps.1.dependsOn.0', message: 'unknown step "zzz"' },
    ]);
    expect(issuesOf({ steps: [http('a'), http('a')] })).toEqual([
      { path: 'plan.steps.1.id', message: 'duplicate step id "a"' },
    ]);
    expect(issuesOf({ steps: [http('a', { dependsOn: ['b'] }), http('b', { dependsOn: ['a'] })] })).toEqual([
      { path: 'plan.steps.0.dependsOn', message: 'dependency cycle a → b → a' },
    ]);
  });

  it('names a reference to an unknown step, to a step not upstream, and a malformed expression', () => {
    const issues = issuesOf({
      steps: [
        http('a', { dependsOn: [] }),
        http('b', { dependsOn: [], input: { url: { $ref: 'steps.a.output.body' } } }),
        http('c', { input: { url: { $ref: 'steps.nope.output' } } }),
        http('d', { when: 'steps.a.output.[[' }),
      ],
    });
    expect(issues.map((issue) => issue.path)).toEqual([
      'plan.steps.1.input.url.$ref',
      'plan.steps.2.input.url.$ref',
      'plan.steps.3.when',
    ]);
    expect(issues[0]!.message).toMatch(/"a", which is not upstream of step "b"/);
    expect(issues[1]!.message).toMatch(/unknown step "nope"/);
    expect(issues[2]!.message).toMatch(/malformed JMESPath/);
  });

  it('lets a compensation read its own step, and the plan output any step', () => {
    const plan = {
      steps: [
        http('book', {
          compensate: { skill: 'http_call', input: { url: { $ref: 'steps.book.output.body.cancelUrl' } } },
        }),
      ],
      output: { $ref: 'steps.book.output' },
    };
    expect(issuesOf(plan)).toEqual([]);
  });

  it('refuses an invalid plan at submission with INVALID_INPUT naming the path; nothing is recorded', () => {
    const error = spec
      .given([])
      .when(submit({ plan: { steps: [http('a'), http('b', { dependsOn: ['x'] })] }, policy: openPolicy }))
      .thenThrows('INVALID_INPUT', /plan\.steps\.1\.dependsOn\.0: unknown step "x"/);
    expect(error.details.issues).toEqual([{ path: 'plan.steps.1.dependsOn.0', message: 'unknown step "x"' }]);
  });
});

describe('recording and upcasting', () => {
  it('records a linear plan without ids exactly as v1 did, and reads it as step-1 → step-2', () => {
    const [submitted] = history(submit());
    const plan = submitted?.type === 'RunSubmitted' ? submitted.data.plan : undefined;
    expect(plan).not.toHaveProperty('version');
    expect(plan?.steps[0]).not.toHaveProperty('id');
    const graph = planGraph(plan!);
    expect(graph).toMatchObject({ version: 1, ids: ['step-1', 'step-2'], deps: [[], [0]], maxParallel: 4 });
  });

  it('records a v2 plan with its ids, defaults filled in, input and output', () => {
    const steps = [
      { ...llmStep, id: 'think' },
      { ...transformStep, input: { expression: '@', data: { $ref: 'steps.think.output' } } },
    ];
    const [submitted] = history(
      submit({ plan: { steps, output: { $ref: 'steps."step-2".output' } }, input: { city: 'Oslo' } }),
    );
    expect(submitted?.type === 'RunSubmitted' && submitted.data).toMatchObject({
      plan: {
        version: 2,
        steps: [
          { id: 'think', dependsOn: [] },
          { id: 'step-2', dependsOn: ['think'] },
        ],
        output: { $ref: 'steps."step-2".output' },
      },
      input: { city: 'Oslo' },
    });
  });
});

describe('references', () => {
  const context = {
    input: { city: 'Oslo' },
    steps: { fetch: { status: 'succeeded', output: { body: { price: 42 } } } },
  };

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${…} template of the plan language, not JS
  it('replaces $ref by the value and ${…} by its text', () => {
    expect(
      resolveReferences(
        {
          price: { $ref: 'steps.fetch.output.body.price' },
          city: { $ref: 'input.city' },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${…} template of the plan language, not JS
          text: 'In ${input.city}: ${steps.fetch.output.body}',
          list: [{ $ref: 'input.missing' }],
        },
        context,
      ),
    ).toEqual({ price: 42, city: 'Oslo', text: 'In Oslo: {"price":42}', list: [null] });
  });
});
