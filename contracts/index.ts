// Every route of the API, by name: the server registers each from its contract, the client
// (client/) has one method per name, and /docs/json is generated from them.
import * as admin from './admin.ts';
import * as agents from './agents.ts';
import * as approvals from './approvals.ts';
import * as emergencyStop from './emergency-stop.ts';
import * as estimators from './estimators.ts';
import * as legacyAgents from './legacy-agents.ts';
import * as legacySdk from './legacy-sdk.ts';
import * as ops from './ops.ts';
import * as queries from './queries.ts';
import * as referenceData from './reference-data.ts';
import * as runs from './runs.ts';
import * as runtimeQueries from './runtime-queries.ts';
import * as skills from './skills.ts';
import * as webhooks from './webhooks.ts';

export const routes = {
  healthz: ops.healthz,
  readyz: ops.readyz,
  metrics: ops.metrics,
  whoami: ops.whoami,
  exportEvents: ops.exportEvents,
  exportPublicKey: ops.exportPublicKey,
  createKey: admin.createKey,
  listKeys: admin.listKeys,
  revokeKey: admin.revokeKey,
  listProjections: admin.listProjections,
  rebuildProjection: admin.rebuildProjection,
  emergencyStop: emergencyStop.emergencyStop,
  emergencyResume: emergencyStop.emergencyResume,
  emergencyStops: emergencyStop.emergencyStops,
  emergencyStopHolding: emergencyStop.emergencyStopHolding,
  setPolicy: referenceData.setPolicy,
  getPolicy: referenceData.getPolicy,
  policyHistory: referenceData.policyHistory,
  setPriceTable: referenceData.setPriceTable,
  getPriceTable: referenceData.getPriceTable,
  priceTableHistory: referenceData.priceTableHistory,
  setFailureCatalog: referenceData.setFailureCatalog,
  getFailureCatalog: referenceData.getFailureCatalog,
  failureCatalogHistory: referenceData.failureCatalogHistory,
  submitRun: runs.submitRun,
  simulateRun: runs.simulateRun,
  getRun: runs.getRun,
  runEvents: runs.runEvents,
  cancelRun: runs.cancelRun,
  decideApproval: runs.decideApproval,
  decideRecovery: runs.decideRecovery,
  listApprovals: approvals.listApprovals,
  listRuns: queries.listRuns,
  statusHistory: queries.statusHistory,
  statusHistoryStats: queries.statusHistoryStats,
  divergence: queries.divergence,
  divergenceDaily: queries.divergenceDaily,
  costs: queries.costs,
  policyDecisions: queries.policyDecisions,
  failures: queries.failures,
  legacyStatusHistory: queries.legacyStatusHistory,
  legacyEntityHistory: queries.legacyEntityHistory,
  legacyStatusHistoryStats: queries.legacyStatusHistoryStats,
  legacyDivergence: queries.legacyDivergence,
  listSkills: skills.listSkills,
  getSkill: skills.getSkill,
  capabilities: skills.capabilities,
  runtimeQuery: runtimeQueries.runtimeQuery,
  runtimeQueryGet: runtimeQueries.runtimeQueryGet,
  legacySdkSimulate: legacySdk.legacySimulate,
  legacySdkSkills: legacySdk.legacySkills,
  legacySdkSkill: legacySdk.legacySkill,
  legacySdkCapabilities: legacySdk.legacyCapabilities,
  legacySdkResourceContract: legacySdk.legacyResourceContract,
  legacySdkQuery: legacySdk.legacyQuery,
  registerAgent: agents.registerAgent,
  listAgents: agents.listAgents,
  getAgent: agents.getAgent,
  submitGoal: agents.submitGoal,
  legacyCreateAgent: legacyAgents.legacyCreateAgent,
  legacyPostGoal: legacyAgents.legacyPostGoal,
  legacyAgentRun: legacyAgents.legacyAgentRun,
  legacySubmitRun: legacyAgents.legacySubmitRun,
  legacyGetRun: legacyAgents.legacyGetRun,
  putDataset: estimators.putDataset,
  listDatasets: estimators.listDatasets,
  getDataset: estimators.getDataset,
  validateEstimators: estimators.validateEstimators,
  runCanary: estimators.runCanary,
  listCanaryReports: estimators.listCanaryReports,
  estimatorStatus: estimators.estimatorStatus,
  enableEstimator: estimators.enableEstimator,
  createWebhook: webhooks.createWebhook,
  listWebhooks: webhooks.listWebhooks,
  deleteWebhook: webhooks.deleteWebhook,
  listWebhookDeliveries: webhooks.listWebhookDeliveries,
  redeliverWebhook: webhooks.redeliverWebhook,
} as const;
export type Routes = typeof routes;
export type RouteName = keyof Routes;

export type { ApprovalView } from './approvals.ts';
export type { CostRow, RunSummary, StatusHistoryRow } from './queries.ts';
export { type ErrorBody, errorBodySchema, type RouteContract } from './route.ts';
export type { RecordedEventView, RunDetail } from './runs.ts';
