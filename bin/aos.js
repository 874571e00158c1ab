#!/usr/bin/env -S node --max-semi-space-size=64
// Entry point for `npx aos`: the compiled CLI (dist/, built by `npm install` or
// `npm run build`) when there is one, otherwise the TypeScript sources through tsx (a
// checkout without a build; tsx is a dev dependency). AOS_RUN_SOURCES=1 picks the sources
// even beside a build: the test suite sets it, so the processes it spawns run the code
// under test rather than the last build.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/api/cli.js', import.meta.url);
if (existsSync(compiled) && process.env.AOS_RUN_SOURCES !== '1') {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../api/cli.ts');
}
