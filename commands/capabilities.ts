// GET /v1/capabilities: what the caller may do now. Which skills the policy in force allows
// and which wait for an approval are decided by the policy's own rules (skillVerdict,
// needsApproval: the functions every call is decided with), never restated here.
import { type HashedPolicy, needsApproval, skillVerdict } from '../domain/policy.ts';
import type { SkillDescription } from '../domain/skill-contract.ts';

export type ApprovalNeed = 'never' | 'when_side_effecting' | 'always';

/** When calls of a skill wait for a human: a flag that depends on the input may go either way. */
function approvalOf(policy: HashedPolicy, skill: SkillDescription): ApprovalNeed {
  if (needsApproval(policy.rules, skill.name, false)) return 'always';
  const mayHaveSideEffects = skill.sideEffecting !== false;
  return mayHaveSideEffects && needsApproval(policy.rules, skill.name, true)
    ? 'when_side_effecting'
    : 'never';
}

/** Each skill's standing under the policy, its latest version only (what a call gets by default). */
export function skillPermissions(policy: HashedPolicy, latest: readonly SkillDescription[]) {
  return latest.map((skill) => {
    const denial = skillVerdict(policy.rules, skill.name);
    return {
      name: skill.name,
      version: skill.version,
      allowed: denial === undefined,
      approval: approvalOf(policy, skill),
      reason: denial?.reason ?? 'no rule denies the skill',
    };
  });
}
