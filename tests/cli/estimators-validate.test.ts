// `aos estimators validate` as a user runs it: offline, no store, no server.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('writes a self-contained HTML report with its charts (--html)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aos-validate-'));
    const file = join(dir, 'report.html');
    const { code } = await aos(['estimators', 'validate', '--dataset', 'low-variance', '--html', file]);
    expect(code).toBe(0);
    const html = await readFile(file, 'utf8');
    await rm(dir, { recursive: true, force: true });
    expect(html).toContain('low-variance v2 (low_variance)');
    // The scatter (one dot per sample and estimator) and an error histogram per estimator.
    expect(html.match(/<circle /g)).toHaveLength(24);
    expect(html.match(/Error distribution/g)).toHaveLength(2);
    expect(html).toContain('v1: FAIL (as expected)');
    // Nothing fetched, nothing run: it reads the same offline.
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('refuses an unknown dataset', async () => {
    const { code, stderr } = await aos(['estimators', 'validate', '--dataset', 'nope']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('no dataset named nope');
  });
});
