#!/usr/bin/env node
// Entry point for `npx aos` and `npm start`: load TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../api/cli.ts');
