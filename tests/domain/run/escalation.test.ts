// Approval escalation, on a test clock (each command's `now`): with the policy's
// escalateAfterMs, an approval still undecided then is escalated (ApprovalEscalated) and the
// wider set of approvers (the tenant's admins) may decide it; before, only the policy's
// approverRoles may. The executor is told when to look (wakeAt), expiry works as before, and
// every history certifies.
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../../domain/actor.ts';
import { certifyRun } from '../../../domain/run/certify.ts';
import type { RunCommand } from '../../../domain/run/commands.ts';
import { approvalIdFor } from '../../../domain/run/decide.ts';
import { nextAction } from '../../../domain/run/next-action.ts';
import { foldRun } from '../../../domain/run/state.ts';
import { at, evaluate, history, operator, spec, submit } from './fixtures.ts';

const admin: Actor = { id: 'admin-1', role: 'admin' };
const policy = {
  version: 'esc-1',
  rules: {
    requireApprovalSkills: ['llm_invoke'],
    approverRoles: ['operator' as const],
    escalateAfterMs: 60_000,
    approvalTimeoutMs: 300_000,
  },
};
const asked = history(submit({ policy }), evaluate(1_000));
const approvalId = approvalIdFor('run-1', 0);
const decide = (actor: Actor, ms: number): RunCommand => ({
  type: 'DecideApproval',
  approvalId,
  decision: 'approve',
  actor,
  now: at(ms),
});
const escalate = (ms: number): RunCommand => ({ type: 'EscalateApproval', stepIndex: 0, now: at(ms) });

describe('approval escalation', () => {
  it('records when the approval escalates and who may decide it until then', () => {
    expect(asked.at(-1)).toMatchObject({
      type: 'ApprovalRequested',
      data: { escalatesAt: at(61_000), expiresAt: at(301_000), approverRoles: ['operator'] },
    });
    expect(nextAction(foldRun(asked), at(2_000))).toMatchObject({
      kind: 'await_approval',
      wakeAt: at(61_000),
    });
    expect(nextAction(foldRun(asked), at(61_000))).toMatchObject({ kind: 'escalate_approval', approvalId });
  });

  it('before escalation only the policy approvers decide', () => {
    spec
      .given(asked)
      .when(decide(admin, 2_000))
      .thenThrows('PERMISSION_DENIED', /before it escalates/);
    spec
      .given(asked)
      .when(decide(operator, 2_000))
      .thenMatches([{ type: 'ApprovalGranted' }]);
    spec.given(asked).when(escalate(60_999)).thenThrows('CONFLICT');
  });

  it('escalates at escalatesAt; the tenant admins may then decide', () => {
    spec
      .given(asked)
      .when(escalate(61_000))
      .thenMatches([
        { type: 'ApprovalEscalated', data: { approvalId, approverRoles: ['operator', 'admin'] } },
      ]);
    const escalated = history(submit({ policy }), evaluate(1_000), escalate(61_000));
    spec.given(escalated).when(escalate(62_000)).thenNothing();
    expect(nextAction(foldRun(escalated), at(62_000))).toMatchObject({
      kind: 'await_approval',
      wakeAt: at(301_000),
    });
    spec
      .given(escalated)
      .when(decide(admin, 70_000))
      .thenMatches([{ type: 'ApprovalGranted', data: { actor: admin } }]);
    const granted = history(submit({ policy }), evaluate(1_000), escalate(61_000), decide(admin, 70_000));
    expect(certifyRun(granted)).toMatchObject({ certified: true });
  });

  it('an escalated approval still expires as before', () => {
    const expired = history(submit({ policy }), evaluate(1_000), escalate(61_000), {
      type: 'ExpireApproval',
      stepIndex: 0,
      now: at(301_000),
    });
    expect(expired.map((e) => e.type)).toEqual(
      expect.arrayContaining(['ApprovalEscalated', 'ApprovalExpired']),
    );
    expect(expired.at(-1)).toMatchObject({ type: 'RunCompleted' });
    expect(certifyRun(expired)).toMatchObject({ certified: true });
  });

  it('without escalateAfterMs nothing escalates (and operators and admins decide, as before)', () => {
    const plain = history(
      submit({ policy: { version: 'p', rules: { requireApprovalSkills: ['llm_invoke'] } } }),
      evaluate(1),
    );
    expect(plain.at(-1)?.data).not.toHaveProperty('escalatesAt');
    expect(nextAction(foldRun(plain), at(10))).toMatchObject({ kind: 'await_approval' });
    spec
      .given(plain)
      .when({ ...decide(admin, 5), approvalId } as RunCommand)
      .thenMatches([{ type: 'ApprovalGranted' }]);
  });
});
