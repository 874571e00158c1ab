// GET /metrics carries Node's own process metrics (prom-client's defaults) under the aos_ prefix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';

describe('/metrics process series', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp('pglite');
  });
  afterAll(() => app.stop());

  it('exposes CPU, memory, heap, event-loop lag and handles of this process, prefixed aos_', async () => {
    const response = await app.request('GET', '/metrics');
    expect(response.status).toBe(200);
    const text = response.body as string;
    const value = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(value('aos_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value('aos_process_resident_memory_bytes')).toBeGreaterThan(10_000_000);
    expect(value('aos_nodejs_heap_size_used_bytes')).toBeGreaterThan(1_000_000);
    expect(value('aos_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value('aos_nodejs_active_handles_total')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE aos_nodejs_gc_duration_seconds histogram');
    // Only prefixed: no unprefixed default series next to them.
    expect(text).not.toMatch(/^process_cpu_user_seconds_total /m);
  });
});
