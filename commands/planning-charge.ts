// What a goal's planning costs. A planner that calls a provider (the LLM planner) is charged
// like any llm_invoke against the run's budget and the tenant's day: its call's v2 estimate is
// reserved on the run's budget ledger (the executor's BudgetLedger) before the call and settled
// at usage × the price table after it. The charge is recorded in PlanProposed and the run
// starts having spent it (RunSubmitted.planningMicros); replay reads both, never the planner.

import type { LedgerCommand } from '../domain/budget/ledger.ts';
import { DomainError } from '../domain/domain-error.ts';
import { estimateStepV2 } from '../domain/estimate.ts';
import type { PlanCharge } from '../domain/events/agent-events.ts';
import { deterministicUuid } from '../domain/hashing.ts';
import { computeChargeMicros } from '../domain/pricing.ts';
import { modelOf } from '../domain/step-input.ts';
import type { BudgetLedger } from './budget-ledger.ts';
import type { Planner, PlanningRequest, PlanProposal } from './planner-port.ts';
import { currentPriceTable } from './reference-data.ts';
import type { CommandDeps, Principal } from './run-commands.ts';

export interface PlanningDeps extends CommandDeps {
  /** The executor's budget ledger: the planner's reservation and settlement go through it. */
  ledger: BudgetLedger;
  dayLimitMicros: (tenantId: string) => number;
}

export interface ChargedProposal {
  proposal: PlanProposal;
  charge?: PlanCharge;
}

/** Asks the planner; a call that costs money is reserved first, settled after (released if it throws). */
export async function proposeCharged(
  deps: PlanningDeps,
  principal: Principal,
  runId: string,
  planner: Planner,
  request: PlanningRequest,
  budgetMicros: number,
): Promise<ChargedProposal> {
  const call = planner.llmCall?.(request);
  if (!call) return { proposal: await planner.propose(request) };
  const priceTable = await currentPriceTable(deps.store);
  const estimateMicros = estimateStepV2({ skill: 'llm_invoke', input: call }, priceTable).costMicros;
  if (estimateMicros > budgetMicros) {
    throw new DomainError(
      'BUDGET_EXCEEDED',
      `planning is estimated at ${estimateMicros} micros, above the budget of ${budgetMicros}`,
      { scope: 'run', requestedMicros: estimateMicros, remainingMicros: budgetMicros },
    );
  }
  const at = deps.clock().toISOString();
  const reservationId = deterministicUuid('planning', principal.tenantId, runId);
  const model = modelOf(call);
  const ledger = (command: LedgerCommand) =>
    deps.ledger.apply(
      command,
      { tenantId: principal.tenantId, runId, at },
      {
        commandId: `planning:${command.type}:${reservationId}`,
        metadata: { tenantId: principal.tenantId, correlationId: runId },
      },
    );
  await ledger({
    type: 'Reserve',
    reservationId,
    runId,
    amountMicros: estimateMicros,
    limitMicros: deps.dayLimitMicros(principal.tenantId),
    ...(model === undefined ? {} : { model }),
  });
  let proposal: PlanProposal;
  try {
    proposal = await planner.propose(request);
  } catch (error) {
    await ledger({ type: 'Release', reservationId });
    throw error;
  }
  const computedMicros = proposal.usage ? computeChargeMicros(proposal.usage, priceTable) : 0;
  // A provider that reports no usage is charged what was reserved: never nothing.
  const chargedMicros = proposal.usage ? computedMicros : estimateMicros;
  await ledger({ type: 'Settle', reservationId, actualMicros: chargedMicros });
  return {
    proposal,
    charge: {
      runId,
      reservationId,
      ...(proposal.usage ? { usage: proposal.usage } : {}),
      estimateMicros,
      computedMicros,
      chargedMicros,
      priceTableVersion: priceTable.version,
      priceTableHash: priceTable.hash,
      at,
    },
  };
}
