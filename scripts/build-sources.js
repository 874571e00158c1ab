// What `npm run build:server` compiles and copies into dist/, and a digest of it: the build
// writes the digest beside its output (dist/build-sources.sha256), so a test run can use
// dist/ only when it was built from the sources it tests (tests/support/spawned-cli.ts).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const settings = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];
/** Copied as they are: the estimator datasets and the built console. */
const copied = ['estimators', join('console', 'dist')];

export const digestFile = 'build-sources.sha256';

function filesUnder(root, folder) {
  const path = join(root, folder);
  if (!existsSync(path)) return [];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** sha256 over the path and content of every file the server build reads, in path order. */
export function buildSourcesDigest(root) {
  const json = (file) => JSON.parse(readFileSync(join(root, file), 'utf8'));
  // What tsconfig.build.json compiles: tsconfig.json's folders, less the tests and benchmarks.
  const excluded = json('tsconfig.build.json').exclude;
  const compiled = json('tsconfig.json').include.filter((folder) => !excluded.includes(folder));
  const files = [...compiled, ...copied].flatMap((folder) => filesUnder(root, folder)).concat(settings);
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(join(root, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}
