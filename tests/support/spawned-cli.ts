// Which build the `aos` processes a test run spawns (bin/aos.js) run, as the environment the
// vitest configs give their workers. By default the sources, through tsx: the code under test,
// whatever state dist/ is in. AOS_TEST_USE_DIST=1 (CI, whose `npm ci` has just built dist/)
// runs the compiled dist/, which starts in about half the time, but only when dist/ was built
// from exactly these sources (scripts/build-sources.js): otherwise the run stops at once,
// rather than test an older build.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSourcesDigest, digestFile } from '../../scripts/build-sources.js';

export function spawnedCliEnv(root: string): { AOS_RUN_SOURCES: '0' | '1' } {
  if (process.env.AOS_TEST_USE_DIST !== '1') return { AOS_RUN_SOURCES: '1' };
  const recorded = join(root, 'dist', digestFile);
  const built = existsSync(recorded) ? readFileSync(recorded, 'utf8').trim() : 'no build';
  if (built !== buildSourcesDigest(root)) {
    throw new Error(
      'AOS_TEST_USE_DIST=1 but dist/ was not built from these sources: run `npm run build` first, or unset AOS_TEST_USE_DIST to test the sources',
    );
  }
  return { AOS_RUN_SOURCES: '0' };
}
