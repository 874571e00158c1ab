// What every route of the older AOS SDKs shares (AOS-REFERENCE.md, "The older SDK's
// machine-native surface"): one tag, a summary that says so, and the plan step shape they send.
import { z } from 'zod';
import type { RouteContract } from './route.ts';

/** A route of the older SDKs: `summary` says what it adapts; tag and prefix are added here. */
export const olderSdkRoute = <const C extends Omit<RouteContract, 'tags'>>(
  contract: C,
): C & { tags: readonly ['older SDK'] } => ({
  ...contract,
  summary: `Older SDK: ${contract.summary}`,
  tags: ['older SDK'] as const,
});

/** One step of an older client's plan: a skill and its params (our step's `input`). */
export const olderSdkStepSchema = z.strictObject({
  skill: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
});

/** An older client's plan as our plan steps. */
export const stepsOfOlderPlan = (plan: ReadonlyArray<z.output<typeof olderSdkStepSchema>>) =>
  plan.map((step) => ({ skill: step.skill, input: step.params }));
