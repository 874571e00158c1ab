// policy_decisions: the decision log, one row per PolicyDecided (allows included).
import type { RunEventData } from '../domain/events/run-events.ts';
import type { Projection } from './projection.ts';

type Decision = RunEventData<'PolicyDecided'>;

export const policyDecisionsProjection: Projection<null> = {
  name: 'policy_decisions',
  version: 1,
  tables: [
    {
      name: 'rm_policy_decisions',
      keyColumns: ['decision_id'],
      columns: [
        'tenant_id',
        'run_id',
        'step_index',
        'attempt',
        'policy_version',
        'policy_hash',
        'rule_id',
        'input_digest',
        'result',
        'reason',
        'input',
        'decided_at',
        'global_position',
      ],
    },
  ],
  eventTypes: ['PolicyDecided'],
  keyOf: (event) => (event.type === 'PolicyDecided' ? 'log' : null),
  initialState: () => null,
  apply(state, event) {
    const d = event.data as Decision;
    return {
      state,
      changes: [
        {
          table: 'rm_policy_decisions',
          kind: 'upsert',
          key: { decision_id: d.decisionId },
          values: {
            tenant_id: event.metadata.tenantId,
            run_id: d.runId,
            step_index: d.stepIndex,
            attempt: d.attempt,
            policy_version: d.policyVersion,
            policy_hash: d.policyHash,
            rule_id: d.ruleId,
            input_digest: d.inputDigest,
            result: d.result,
            reason: d.reason,
            input: d.input,
            decided_at: d.at,
            global_position: event.globalPosition,
          },
        },
      ],
    };
  },
};
