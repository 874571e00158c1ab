#!/usr/bin/env node
// `npm run build:server`: compiles the server to JavaScript in dist/ (tsconfig.build.json:
// tsconfig.json's folders less the tests and benchmarks, the sources' `.ts` imports rewritten
// to `.js`) and copies beside it the files the compiled code reads through
// `new URL(…, import.meta.url)`: the SQL migrations, the estimator datasets and the built console.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSourcesDigest, digestFile } from './build-sources.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

// Taken before compiling: a source changed while the build runs makes dist/ stale, not current.
const digest = buildSourcesDigest(root);
// A clean build: no compiled file outlives its deleted source.
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

// Every folder tsc compiled gets its source folder's SQL files.
for (const folder of readdirSync(dist)) {
  cpSync(join(root, folder), join(dist, folder), {
    recursive: true,
    filter: (source) => statSync(source).isDirectory() || source.endsWith('.sql'),
  });
}
// The shipped estimator datasets (api/shipped-datasets.ts reads ../estimators/datasets).
cpSync(join(root, 'estimators'), join(dist, 'estimators'), { recursive: true });
const consoleBuild = join(root, 'console', 'dist');
if (existsSync(consoleBuild)) cpSync(consoleBuild, join(dist, 'console', 'dist'), { recursive: true });
// Which sources this dist/ was built from (tests/support/spawned-cli.ts compares it).
writeFileSync(join(dist, digestFile), `${digest}\n`);
