// The metrics port over prom-client. Each app owns its registry (never prom-client's global
// one), so several apps can live in one process (tests). Gauges that describe the database
// (projection lag, the xmin horizon, drift alerts) are computed when Prometheus scrapes.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CommandMetrics } from '../../commands/metrics.ts';
import type { EventStore } from '../../domain/store/event-store.ts';

/** One sample of a gauge computed on scrape. */
export interface GaugeSample {
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusMetrics {
  /** Series without a tenant label: what any scraper may see. */
  registry: Registry;
  /** Series labelled by tenant (names, spend, drift): only for an authorised scraper. */
  tenantRegistry: Registry;
  commands: CommandMetrics;
  /** One HTTP request: its route pattern (not the URL, which would explode the series). */
  observeHttp(route: string, method: string, status: number, seconds: number): void;
  /**
   * A gauge whose samples `collect` reads at scrape time. A failing collect leaves the gauge
   * empty for that scrape rather than failing the whole exposition.
   */
  scrapeGauge(
    name: string,
    help: string,
    labelNames: readonly string[],
    collect: () => Promise<GaugeSample[]>,
  ): void;
}

const secondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createPrometheusMetrics(options: { onCollectError?: (error: unknown) => void } = {}) {
  const registry = new Registry();
  const registers = [registry];
  // The process itself: CPU, memory, heap, event-loop lag, handles, GC (aos_process_*, aos_nodejs_*).
  collectDefaultMetrics({ prefix: 'aos_', register: registry });
  const tenantRegistry = new Registry();
  const tenantRegisters = [tenantRegistry];

  const httpDuration = new Histogram({
    name: 'aos_http_request_duration_seconds',
    help: 'HTTP request durations by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: secondsBuckets,
    registers,
  });
  const commandsTotal = new Counter({
    name: 'aos_commands_total',
    help: 'Commands handled, by command type and outcome (recorded, duplicate, noop, conflict, error or the refusal code)',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const appendDuration = new Histogram({
    name: 'aos_event_store_append_duration_seconds',
    help: 'Event store append latency, by outcome',
    labelNames: ['outcome'] as const,
    buckets: secondsBuckets,
    registers,
  });
  const skillCalls = new Counter({
    name: 'aos_skill_calls_total',
    help: 'Skill calls started, by skill',
    labelNames: ['skill'] as const,
    registers,
  });
  const skillAttempts = new Counter({
    name: 'aos_skill_attempts_total',
    help: 'Skill attempts with a recorded outcome, by skill and error code ("none" when it succeeded)',
    labelNames: ['skill', 'error_code'] as const,
    registers,
  });
  const skillRetries = new Counter({
    name: 'aos_skill_retries_total',
    help: 'Retries scheduled, by skill and the error code that caused them',
    labelNames: ['skill', 'error_code'] as const,
    registers,
  });
  const costCharged = new Counter({
    name: 'aos_cost_charged_micros_total',
    help: 'Cost charged, in micro-dollars, by tenant, skill and model',
    labelNames: ['tenant', 'skill', 'model'] as const,
    registers: tenantRegisters,
  });
  const budgetRefusals = new Counter({
    name: 'aos_budget_refusals_total',
    help: 'Budget refusals recorded, by tenant and scope (run, tenant_day, model_cap)',
    labelNames: ['tenant', 'scope'] as const,
    registers: tenantRegisters,
  });
  const policyDecisions = new Counter({
    name: 'aos_policy_decisions_total',
    help: 'Policy decisions recorded, by result',
    labelNames: ['result'] as const,
    registers,
  });
  const runsCompleted = new Counter({
    name: 'aos_runs_completed_total',
    help: 'Runs that reached a final status, by status',
    labelNames: ['status'] as const,
    registers,
  });
  const breakerTransitions = new Counter({
    name: 'aos_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes, by tenant, target and the state entered',
    labelNames: ['tenant', 'target', 'state'] as const,
    registers: tenantRegisters,
  });

  const commands: CommandMetrics = {
    commandHandled: (type, outcome) => commandsTotal.inc({ type, outcome }),
    appendObserved: (seconds, outcome) => appendDuration.observe({ outcome }, seconds),
    skillCalled: (skill) => skillCalls.inc({ skill }),
    skillAttempt: (skill, errorCode) => skillAttempts.inc({ skill, error_code: errorCode ?? 'none' }),
    retryScheduled: (skill, errorCode) => skillRetries.inc({ skill, error_code: errorCode }),
    costCharged: (tenant, skill, model, micros) => costCharged.inc({ tenant, skill, model }, micros),
    budgetRefused: (tenant, scope) => budgetRefusals.inc({ tenant, scope }),
    policyDecided: (result) => policyDecisions.inc({ result }),
    runCompleted: (status) => runsCompleted.inc({ status }),
    // The state itself is read from the read model on scrape (api/breaker-metrics.ts).
    breakerChanged: (tenant, target, state) => breakerTransitions.inc({ tenant, target, state }),
  };

  const metrics: PrometheusMetrics = {
    registry,
    tenantRegistry,
    commands,
    observeHttp(route, method, status, seconds) {
      httpDuration.observe({ route, method, status: String(status) }, seconds);
    },
    scrapeGauge(name, help, labelNames, collect) {
      new Gauge({
        name,
        help,
        labelNames,
        registers: labelNames.includes('tenant') ? tenantRegisters : registers,
        async collect() {
          this.reset();
          try {
            for (const sample of await collect()) this.set(sample.labels, sample.value);
          } catch (error) {
            options.onCollectError?.(error);
          }
        },
      });
    },
  };
  return metrics;
}

/**
 * The store with its appends timed. Every other member is the store's own; the wrapper
 * keeps the store's full type, so it can stand in wherever the store is used.
 */
/** The store's members that append: `appendWithin` sends a step's transition (several streams). */
const TIMED = new Set<PropertyKey>(['append', 'appendWith', 'appendWithin']);

export function instrumentAppends<S extends EventStore>(store: S, metrics: CommandMetrics): S {
  const timed =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await fn(...args);
        metrics.appendObserved(seconds(), 'ok');
        return result;
      } catch (error) {
        metrics.appendObserved(seconds(), 'error');
        throw error;
      }
    };
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (!TIMED.has(property) || typeof value !== 'function') return value;
      if (!wrapped.has(property)) wrapped.set(property, timed(value.bind(target)));
      return wrapped.get(property);
    },
  });
}
