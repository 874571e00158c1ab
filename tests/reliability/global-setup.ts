import { resetRows, writeReport } from './support/report.ts';

export function setup() {
  resetRows();
}

export function teardown() {
  console.log(`\n${writeReport()}\n`);
}
