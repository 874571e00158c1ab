// Who issued a command. The role comes from the authenticated API key, never from a request
// body (the original let approvers name themselves); the domain re-checks it anyway.
import { z } from 'zod';

export const actorRoles = ['admin', 'operator', 'auditor', 'viewer', 'system'] as const;
export type ActorRole = (typeof actorRoles)[number];

export const actorSchema = z.strictObject({ id: z.string().min(1), role: z.enum(actorRoles) });
export type Actor = z.infer<typeof actorSchema>;

/** Roles that may approve or reject a waiting step. */
export const approverRoles: readonly ActorRole[] = ['admin', 'operator'];
/** Roles that may cancel a run (system: the runtime itself, e.g. on shutdown). */
export const cancellerRoles: readonly ActorRole[] = ['admin', 'operator', 'system'];
