// The port through which the executor calls skills. infra/skills implements it.

import type { SkillOutcome } from '../domain/skill.ts';
import type { SkillFacts } from '../domain/skill-catalog.ts';
import type { SkillDescription } from '../domain/skill-contract.ts';

export interface SkillCall {
  skill: string;
  skillVersion?: string;
  input: Record<string, unknown>;
  tenantId: string;
  runId: string;
  stepIndex: number;
  /** 1-based. */
  attempt: number;
  /** The run's seed: deterministic skills (the `stub` model) derive their output from it. */
  seed: number | string;
  /** Stable across the attempts of one step, so a remote side effect retried is deduplicated. */
  idempotencyKey: string;
  /** The whole call, connection to last byte, must finish within this. */
  timeoutMs: number;
  /** Aborted when the executor gives the attempt up (shutdown, lease lost). */
  signal?: AbortSignal;
}

export interface SkillPort {
  /** Never rejects: every failure, even a bug in a skill, comes back as an outcome. */
  invoke(call: SkillCall): Promise<SkillOutcome>;
  /** What the runtime needs to know before calling; undefined for an unknown skill or version. */
  facts(skill: string, skillVersion?: string): SkillFacts | undefined;
  /**
   * The description a call with this skill and version would use. Optional: a port without
   * it (a test double) still runs plans, but step inputs are then checked only when called.
   */
  resolve?(skill: string, skillVersion?: string): SkillDescription | undefined;
  /** Every skill and version it serves, by name then ascending version. */
  list?(): readonly SkillDescription[];
}
