// `aos estimators validate` as a user runs it: offline, no store, no server.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function aos(args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['bin/aos.js', ...args], {
      env: { ...process.env, AOS_LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

// Each case starts `aos` (tsx compiling the CLI): slow on a loaded machine.
describe('aos estimators validate', { timeout: 180_000 }, () => {
  it('reports the noise dataset failing v1 and passing v2, as expected, and exits 0', async () => {
    const { code, stdout } = await aos(['estimators', 'validate', '--dataset', 'injected-noise', '--json']);
    expect(code).toBe(0);
    const [report] = JSON.parse(stdout);
    expect(report.dataset).toBe('injected-noise');
    expect(
      report.estimators.map((r: { estimator: string; verdict: string }) => [r.estimator, r.verdict]),
    ).toEqual([
      ['v1', 'fail'],
      ['v2', 'pass'],
    ]);
  });

  it('refuses an unknown dataset', async () => {
    const { code, stderr } = await aos(['estimators', 'validate', '--dataset', 'nope']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('no dataset named nope');
  });
});
