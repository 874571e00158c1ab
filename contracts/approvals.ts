// Approvals: the tenant's approvals and where each stands (pending ones are what an operator decides).
import { z } from 'zod';
import { approvalClosedReasons } from '../domain/events/run-fields.ts';
import { approvalStatuses } from '../domain/run/approval-statuses.ts';
import { cursor, limit, page } from './common.ts';
import { defineRoute } from './route.ts';

export const approvalSchema = z.object({
  approvalId: z.uuid(),
  runId: z.uuid(),
  stepIndex: z.int(),
  stepId: z.string().nullable().describe("the step's id, once the run's read model has it"),
  attempt: z.int(),
  status: z.enum(approvalStatuses),
  reason: z.string().describe('why the policy asked for approval'),
  requestedAt: z.string(),
  expiresAt: z.string(),
  endedAt: z.string().nullable().describe('when it was granted, rejected, expired or closed'),
  decidedBy: z.string().nullable().describe('who granted or rejected it'),
  comment: z.string().nullable(),
  closedReason: z.enum(approvalClosedReasons).nullable().describe('closed: why its run ended'),
  escalatesAt: z
    .string()
    .nullable()
    .describe(
      "when it is escalated to the tenant's admins if still undecided (the policy's escalateAfterMs)",
    ),
  escalatedAt: z.string().nullable().describe('when it was escalated'),
  position: z.string().describe("global position of the request (the list's order)"),
});
export type ApprovalView = z.infer<typeof approvalSchema>;

export const listApprovals = defineRoute({
  method: 'GET',
  url: '/v1/approvals',
  summary: "The tenant's approvals, oldest request first (keyset pagination); status=pending: those waiting",
  tags: ['runs'],
  permission: 'read',
  querystring: z.strictObject({
    status: z.enum(approvalStatuses).optional().describe('absent: every status'),
    run_id: z.uuid().optional(),
    limit: limit(1000, 100),
    cursor: cursor.optional(),
  }),
  response: { 200: page(approvalSchema) },
});
