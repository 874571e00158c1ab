// The API's answers, as the console reads them (api/openapi.ts has the full shapes).
import type { DivergenceReport } from '../../projections/divergence.ts';
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface RunSummary {
  runId: string;
  agentId: string;
  status: string;
  costMicros: number;
  attempts: number;
  steps: number;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RunDetail {
  runId: string;
  agentId: string;
  status: string;
  steps: { index: number; skill: string; status: string; attempts: unknown[] }[];
  costMicros: number;
  estimate: { v1: { costMicros?: number } | null; v2: { costMicros?: number } | null } | null;
  reason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RecordedEvent {
  eventId: string;
  streamPosition: number;
  type: string;
  data: Record<string, unknown>;
  recordedAt: string;
}

export interface StatusHistoryRow {
  id: string;
  entity_type: string;
  entity_id: string;
  old_status: string | null;
  new_status: string;
  actor_type: string;
  actor_id: string | null;
  reason: string | null;
  created_at: string;
  sequence: number;
}

export interface CostRow {
  day?: string;
  skill?: string;
  model?: string;
  charges: number;
  chargedMicros: number;
  computedMicros: number;
  providerMicros: number;
  estimateMicros: number;
}

// The report's shape is the projection's own (a type-only import: nothing of it is bundled).
export type { DivergenceReport } from '../../projections/divergence.ts';
export type DivergenceFigures = Omit<
  DivergenceReport,
  'start_date' | 'end_date' | 'source' | 'detailed_samples'
>;

export interface DivergenceDaily {
  items: (DivergenceFigures & { day: string })[];
}
