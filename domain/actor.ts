// Who issued a command. The role comes from the authenticated API key, never from a request
// body (the original let approvers name themselves); the domain re-checks it anyway.
import { z } from 'zod';

export const actorRoles = ['admin', 'operator', 'auditor', 'viewer', 'system'] as const;
export type ActorRole = (typeof actorRoles)[number];

/** The tenant of the `system` keys, which manage keys and belong to no real tenant. */
export const SYSTEM_TENANT = 'system';
/** A tenant id: what the API accepts and the store enforces. */
export const tenantIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Roles a key can be created with over the API; `system` keys come only from the bootstrap. */
export const tenantRoles = ['admin', 'operator', 'auditor', 'viewer'] as const;
export type TenantRole = (typeof tenantRoles)[number];

export const actorSchema = z.strictObject({ id: z.string().min(1), role: z.enum(actorRoles) });
export type Actor = z.infer<typeof actorSchema>;

/** Roles that may approve or reject a waiting step (unless the policy narrows them until escalation). */
export const approverRoles: readonly ActorRole[] = ['admin', 'operator'];
/** Who may decide an approval once it is escalated: the tenant's admins join whoever could before. */
export const escalatedApproverRoles: readonly ActorRole[] = ['admin', 'operator'];
/** Roles that may cancel a run (system: the runtime itself, e.g. on shutdown). */
export const cancellerRoles: readonly ActorRole[] = ['admin', 'operator', 'system'];
