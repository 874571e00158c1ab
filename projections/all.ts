// Every projection, in the order the runner and replay apply them.
import { agentsProjection } from './agents.ts';
import { approvalsProjection } from './approvals.ts';
import { attemptsProjection } from './attempts.ts';
import { breakersProjection } from './breakers.ts';
import { budgetDaysProjection } from './budget-days.ts';
import { costsProjection } from './costs.ts';
import { divergenceSamplesProjection } from './divergence-samples.ts';
import { failuresProjection } from './failures.ts';
import { policyDecisionsProjection } from './policy-decisions.ts';
import type { AnyProjection } from './projection.ts';
import { runContextProjection } from './run-context.ts';
import { runsProjection } from './runs.ts';
import { statusHistoryProjection } from './status-history.ts';

export const allProjections: readonly AnyProjection[] = [
  statusHistoryProjection,
  runsProjection,
  costsProjection,
  failuresProjection,
  policyDecisionsProjection,
  divergenceSamplesProjection,
  agentsProjection,
  approvalsProjection,
  attemptsProjection,
  runContextProjection,
  budgetDaysProjection,
  breakersProjection,
];
