// The one way a step's call is put to the policy: execution (domain/run/decide.ts, before
// every attempt) and simulate (before anything is written) build the same PolicyInput and ask
// evaluatePolicy, so host, local-address (SSRF: domain/local-address.ts), method (side
// effects), approval and cost rules decide a simulated step exactly as they will decide its
// run. Both read the policy in force with the installation's local exemptions
// (commands/reference-data.ts, policyInForce); only a name resolving to a local address is
// left to the skill's guard at call time.
import {
  evaluatePolicy,
  type HashedPolicy,
  type Policy,
  type PolicyDecision,
  type PolicyInput,
} from './policy.ts';
import { httpHostOf, type StepInput } from './step-input.ts';

export interface StepCall {
  runId: string;
  tenantId: string;
  agentId: string;
  stepIndex: number;
  attempt: number;
  skill: string;
  skillVersion?: string | undefined;
  /** The step's flag: its override, else the skill's (for http_call: its method). */
  sideEffecting: boolean;
  estimateMicros: number;
  approvalGranted: boolean;
  /** The resolved input: only the http_call host is read from it. */
  input: StepInput;
}

export function stepPolicyInput(call: StepCall): PolicyInput {
  const input: PolicyInput = {
    runId: call.runId,
    tenantId: call.tenantId,
    agentId: call.agentId,
    stepIndex: call.stepIndex,
    attempt: call.attempt,
    skill: call.skill,
    sideEffecting: call.sideEffecting,
    estimateMicros: call.estimateMicros,
    approvalGranted: call.approvalGranted,
  };
  if (call.skillVersion !== undefined) input.skillVersion = call.skillVersion;
  const host = call.skill === 'http_call' ? httpHostOf(call.input) : undefined;
  if (host !== undefined) input.httpHost = host;
  return input;
}

export function decideStepPolicy(policy: HashedPolicy | Policy, call: StepCall): PolicyDecision {
  return evaluatePolicy(policy, stepPolicyInput(call));
}
