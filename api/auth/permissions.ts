// What each role may do. Routes name the action they perform (their contract's `permission`),
// never a list of roles, so the table below is the one place where roles get their meaning.
import type { ActorRole } from '../../domain/actor.ts';

export const actions = [
  'read',
  'submit',
  'cancel',
  'approve',
  'export',
  'manage_policy',
  'manage_webhooks',
  'manage_keys',
  'operate',
  'emergency_stop',
] as const;
export type Action = (typeof actions)[number];

/**
 * - viewer: reads its tenant's runs and reports.
 * - operator: reads, submits runs (and simulations), cancels runs, decides approvals.
 * - auditor: reads and exports audit streams.
 * - admin: everything within its tenant, and alone sets its policy and webhooks and stops its
 *   tenant in an emergency (keys excepted: those belong to system).
 * - system: manages keys of every tenant and operates the installation (projection status and
 *   rebuilds, which hold no tenant's data, and the price table every tenant is charged by); it
 *   cannot read any tenant's runs. It may stop any tenant, or every one, in an emergency.
 */
export const permissions: Readonly<Record<ActorRole, readonly Action[]>> = {
  viewer: ['read'],
  operator: ['read', 'submit', 'cancel', 'approve'],
  auditor: ['read', 'export'],
  admin: [
    'read',
    'submit',
    'cancel',
    'approve',
    'export',
    'manage_policy',
    'manage_webhooks',
    'emergency_stop',
  ],
  system: ['manage_keys', 'operate', 'emergency_stop'],
};

export function can(role: ActorRole, action: Action): boolean {
  return permissions[role]?.includes(action) ?? false;
}

/** The roles allowed an action (for messages and OpenAPI descriptions). */
export function rolesThatCan(action: Action): ActorRole[] {
  return (Object.keys(permissions) as ActorRole[]).filter((role) => can(role, action));
}
