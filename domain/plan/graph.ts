// A recorded plan as a graph. Plan v1 (recorded before steps had ids) is upcast here, on
// read, rather than migrated: step i gets the id `step-<i+1>` and depends on the step before
// it, which is exactly what a linear plan meant. Plan v2 records ids and dependencies as
// submitted (with the same defaults filled in).
import { canonicalHash } from '../hashing.ts';

export const DEFAULT_MAX_PARALLEL = 4;

export const defaultStepId = (index: number) => `step-${index + 1}`;

/** The fields of a recorded step the graph needs; v1 steps have none of them. */
export interface GraphStep {
  id?: string;
  dependsOn?: string[];
  when?: string;
}

export interface RecordedPlanShape<S extends GraphStep = GraphStep> {
  version?: 2;
  steps: S[];
  output?: unknown;
  maxParallel?: number;
}

export interface PlanGraph {
  /** 2 when the plan was submitted in the v2 language; 1 for an upcast linear plan. */
  version: 1 | 2;
  ids: string[];
  /** Indices of each step's direct dependencies. */
  deps: number[][];
  /** Indices of every step upstream of each step (transitively). */
  upstream: Set<number>[];
  maxParallel: number;
  output?: unknown;
}

/** Step ids and dependencies with their defaults: ids `step-N`, dependsOn the previous step. */
export function normalizedSteps<S extends GraphStep>(
  steps: readonly S[],
): Array<S & { id: string; dependsOn: string[] }> {
  // Object.assign, not a spread: on Node 20 `{ ...step, id, dependsOn }` adding keys the step
  // lacks (a v1 step has neither) costs ~3 µs a step, more than the rest of a fold's event.
  return steps.map((step, index) =>
    Object.assign({}, step, {
      id: step.id ?? defaultStepId(index),
      dependsOn: step.dependsOn ?? (index === 0 ? [] : [steps[index - 1]!.id ?? defaultStepId(index - 1)]),
    }),
  );
}

/** The graph of a plan that passed validation (ids unique, dependencies known, no cycle). */
export function planGraph(plan: RecordedPlanShape): PlanGraph {
  const steps = normalizedSteps(plan.steps);
  const ids = steps.map((step) => step.id);
  const indexOf = new Map(ids.map((id, index) => [id, index]));
  const deps = steps.map((step) => step.dependsOn.map((id) => indexOf.get(id)!));
  const upstream: Set<number>[] = [];
  const visit = (index: number): Set<number> => {
    const known = upstream[index];
    if (known) return known;
    const found = new Set<number>();
    for (const dep of deps[index] ?? []) {
      found.add(dep);
      for (const further of visit(dep)) found.add(further);
    }
    upstream[index] = found;
    return found;
  };
  for (let index = 0; index < ids.length; index++) visit(index);
  const graph: PlanGraph = {
    version: plan.version === 2 ? 2 : 1,
    ids,
    deps,
    upstream,
    maxParallel: plan.maxParallel ?? DEFAULT_MAX_PARALLEL,
  };
  if (plan.output !== undefined) graph.output = plan.output;
  return graph;
}

/** A step's seed: derived from the run's seed and the step's id, never from the clock. */
export function stepSeed(runSeed: number | string, stepId: string): number {
  return Number.parseInt(canonicalHash({ seed: runSeed, step: stepId }).slice(0, 8), 16);
}
