// Fields of run events that requests and route contracts share, apart from the run events
// themselves (domain/events/run-events.ts), whose RunSubmitted checks policy and price hashes.
import { z } from 'zod';

export const estimateBasisSchema = z.strictObject({ estimator: z.enum(['v1', 'v2']), note: z.string() });

export const seedSchema = z.union([z.int(), z.string().min(1).max(256)]);

/** Why an approval still pending was closed: its run ended without it being decided. */
export const approvalClosedReasons = ['run_cancelled', 'run_failed', 'run_ended'] as const;
