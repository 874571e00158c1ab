// Scenario: the server is killed with SIGKILL while runs are in the middle of parallel
// branches (five slow http_calls each, then a step that reads all five). After every restart
// the runs go on: no attempt is executed twice (the target never sees more requests for a
// step than the step has recorded attempts), no charge is recorded twice, no reservation is
// left open, every run succeeds and certifies.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunEvent } from '../../domain/events/run-events.ts';
import { certifyRun } from '../../domain/run/certify.ts';
import { audit, nothingWrong } from './support/audit.ts';
import { recordScenario } from './support/report.ts';
import { openScenario, type Scenario } from './support/scenario.ts';

const RUNS = 12;
const BRANCHES = 5;
const requests = new Map<string, number>();
const target = createServer((req, res) => {
  requests.set(req.url ?? '', (requests.get(req.url ?? '') ?? 0) + 1);
  setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  }, 400);
});

let scenario: Scenario;
let base: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  scenario = await openScenario({ AOS_HTTP_ALLOW_HOSTS: '127.0.0.1' });
});
afterAll(async () => {
  await scenario.dispose();
  target.close();
});

const plan = (n: number) => ({
  agentId: 'parallel-crash',
  input: { n },
  plan: {
    maxParallel: BRANCHES,
    steps: [
      ...Array.from({ length: BRANCHES }, (_, b) => ({
        id: `b${b}`,
        skill: 'http_call',
        dependsOn: [],
        input: { url: `${base}/slow/\${input.n}/b${b}` },
        // Each kill can cost a branch in flight one attempt (WORKER_LOST, retried): with four
        // kills, three attempts could run out — a failed run by policy, not a lost one.
        retry: { maxAttempts: 6 },
      })),
      {
        id: 'join',
        skill: 'json_transform',
        dependsOn: Array.from({ length: BRANCHES }, (_, b) => `b${b}`),
        input: {
          expression: 'length(@)',
          data: Array.from({ length: BRANCHES }, (_, b) => ({ $ref: `steps.b${b}.output.body.path` })),
        },
      },
    ],
    output: { $ref: 'steps.join.output' },
  },
  budget: { maxCostMicros: 1_000_000 },
});

it('kill -9 during parallel branches: no attempt twice, no charge twice, every run finished', async () => {
  const key = await scenario.tenantKey('parallel', 'operator');
  const acknowledged = new Map<string, string>();
  for (let n = 0; n < RUNS; n++) {
    const response = await scenario.call('POST', '/v1/runs', key, plan(n));
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    acknowledged.set(String(n), response.body.runId);
  }
  let kills = 0;
  for (let k = 0; k < 4; k++) {
    await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 700));
    await scenario.server.kill();
    kills++;
    await scenario.server.start();
  }
  const result = await audit(scenario.store, acknowledged, 120_000);

  const overCalled: string[] = [];
  const certified: boolean[] = [];
  const statuses: string[] = [];
  const reasons: string[] = [];
  for (const [n, runId] of acknowledged) {
    const events = (await scenario.store.readStream(`run-${runId}`)).map(
      (e) => ({ type: e.type, data: e.data }) as RunEvent,
    );
    const completed = events.find((e) => e.type === 'RunCompleted');
    statuses.push(completed?.type === 'RunCompleted' ? completed.data.status : 'unfinished');
    if (completed?.type === 'RunCompleted' && completed.data.status !== 'succeeded')
      reasons.push(completed.data.reason);
    certified.push(certifyRun(events).certified);
    for (let b = 0; b < BRANCHES; b++) {
      const attempts = events.filter((e) => e.type === 'SkillCallStarted' && e.data.stepIndex === b).length;
      const calls = requests.get(`/slow/${n}/b${b}`) ?? 0;
      if (calls > attempts) overCalled.push(`run ${n} step b${b}: ${calls} calls, ${attempts} attempts`);
    }
  }
  recordScenario({
    scenario: 'kill -9 during parallel branches',
    operations: RUNS * (BRANCHES + 1),
    faults: `${kills} × SIGKILL`,
    acknowledged: acknowledged.size,
    lost: result.lost.length,
    duplicated:
      result.duplicatedEvents + result.duplicatedRuns + result.duplicatedCharges + overCalled.length,
    fiveXX: 0,
    notes: `${RUNS} runs of ${BRANCHES} parallel http_calls; ${result.openReservations.length} open reservations; statuses ${JSON.stringify(statuses)}${reasons.length > 0 ? `; why not succeeded: ${JSON.stringify(reasons)}` : ''}`,
  });
  expect(overCalled).toEqual([]);
  expect(result).toEqual(nothingWrong);
  expect(statuses.every((status) => status === 'succeeded')).toBe(true);
  expect(certified.every(Boolean)).toBe(true);
});
