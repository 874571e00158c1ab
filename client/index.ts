// The typed client of the AOS HTTP API (see aos-client.ts) and the shapes it answers with.

export type {
  CostRow,
  RecordedEventView,
  RunDetail,
  RunSummary,
  StatusHistoryRow,
} from '../contracts/index.ts';
export { AosClient, type AosClientOptions, AosError, type RequestOf, type ResponseOf } from './aos-client.ts';
