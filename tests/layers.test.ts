// The layer rules of `npm run lint` (.dependency-cruiser.cjs, the table in docs/architecture.md)
// run on a fixture tree with wrong-way imports: the linter must refuse exactly those, and pass
// the project itself.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = `${root}node_modules/dependency-cruiser/bin/dependency-cruise.mjs`;
const config = `${root}.dependency-cruiser.cjs`;

/** Runs depcruise as `npm run lint` does: its exit code and the violations it printed. */
async function cruise(cwd: string, folders: string[]) {
  const { stdout, code } = await promisify(execFile)(
    process.execPath,
    [depcruise, '--config', config, ...folders],
    {
      cwd,
    },
  )
    .then((r) => ({ stdout: r.stdout, code: 0 }))
    .catch((e: { stdout: string; code: number }) => ({ stdout: e.stdout, code: e.code }));
  const violations = [...stdout.matchAll(/^\s*error (\S+): (\S+) → (\S+)$/gm)].map((m) => m.slice(1, 4));
  return { code, violations, stdout };
}

describe('layer rules', () => {
  it('refuse domain/ importing infra/ and readmodels/ importing infra/, even as a type', async () => {
    const result = await cruise(`${root}tests/fixtures/layers`, [
      'domain',
      'commands',
      'readmodels',
      'infra',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.violations.sort()).toEqual([
      ['domain-is-pure', 'domain/wrong-way.ts', 'infra/adapter.ts'],
      ['readmodels-layer', 'readmodels/type-only.ts', 'infra/adapter.ts'],
    ]);
  });

  it('pass the project as it is', async () => {
    const folders = ['domain', 'commands', 'projections', 'readmodels', 'api', 'replay', 'infra'];
    const result = await cruise(root, folders);
    expect(result.violations).toEqual([]);
    expect(result.stdout).toContain('no dependency violations found');
    expect(result.code).toBe(0);
  }, 60_000);
});
