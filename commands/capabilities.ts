// GET /v1/capabilities: what the caller may do now. Which skills the policy in force allows
// and which wait for an approval are decided by the policy's own rules (skillVerdict,
// needsApproval: the functions every call is decided with), never restated here; a registered
// agent's allowed skills narrow them further, as the plan sandbox narrows its goals' plans.
import type { AgentProfile } from '../domain/events/agent-events.ts';
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

/** Why the policy, or else the agent's profile, keeps a skill from the caller; undefined: it does not. */
function denialOf(policy: HashedPolicy, agent: AgentProfile | null, skill: string): string | undefined {
  const denial = skillVerdict(policy.rules, skill);
  if (denial) return denial.reason;
  if (agent && !agent.allowedSkills.includes(skill))
    return `skill ${skill} is not in agent ${agent.name}'s allowed skills`;
  return undefined;
}

/**
 * Each skill's standing under the policy and the agent's profile (when one is registered), its
 * latest version only (what a call gets by default).
 */
export function skillPermissions(
  policy: HashedPolicy,
  latest: readonly SkillDescription[],
  agent: AgentProfile | null = null,
) {
  return latest.map((skill) => {
    const denial = denialOf(policy, agent, skill.name);
    return {
      name: skill.name,
      version: skill.version,
      allowed: denial === undefined,
      approval: approvalOf(policy, skill),
      reason: denial ?? 'no rule denies the skill',
    };
  });
}
