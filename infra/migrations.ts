// Every folder of SQL migrations, applied together in file-name order.

import { fileURLToPath } from 'node:url';
import { authMigrations } from './auth/api-key-store.ts';
import { eventStoreMigrations } from './store/migrate.ts';

export const executorMigrations = fileURLToPath(new URL('./executor/migrations/', import.meta.url));
export const readModelMigrations = fileURLToPath(new URL('../readmodels/migrations/', import.meta.url));
export const kafkaMigrations = fileURLToPath(new URL('./kafka/migrations/', import.meta.url));
export const rateLimitMigrations = fileURLToPath(new URL('./ratelimit/migrations/', import.meta.url));
export const webhookMigrations = fileURLToPath(new URL('./webhooks/migrations/', import.meta.url));
export const allMigrations = [
  eventStoreMigrations,
  authMigrations,
  executorMigrations,
  readModelMigrations,
  kafkaMigrations,
  webhookMigrations,
  rateLimitMigrations,
];
