// The port through which the executor calls skills. infra/skills implements it.

import type { SkillOutcome } from '../domain/skill.ts';
import type { SkillFacts } from '../domain/skill-catalog.ts';

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
}
