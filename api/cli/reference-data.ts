// `aos policy set FILE | get | history` and `aos prices set FILE | get | history`: the
// tenant's policy (an admin key in AOS_API_KEY) and the price table (the system key), through
// the server (PUT/GET /v1/policy, /v1/admin/price-tables). FILE (or stdin, `-`) holds the JSON
// the PUT takes; the server validates it and names the field of a bad one.
import type { Command } from 'commander';
import type { RequestOf } from '../../client/index.ts';
import type { setPolicy, setPriceTable } from '../../contracts/reference-data.ts';
import { readJsonInput } from './json-input.ts';
import { serverClient } from './server-client.ts';

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

/** "changed" or "already in force", on stderr: stdout stays the JSON of the version. */
function report(what: string, changed: boolean, version: string) {
  console.error(
    changed ? `${what} ${version} is in force` : `${what} ${version} was already in force; nothing recorded`,
  );
}

export function referenceDataCommands(program: Command): void {
  const tenantKey = { keyHint: "an admin key of the tenant for set, any of the tenant's keys for get" };
  const policy = program.command('policy').description("the tenant's policy (PUT/GET /v1/policy)");
  policy
    .command('set <file>')
    .description('put the policy in FILE ({version, rules}; - for stdin) in force for new runs')
    .action(async (file: string) => {
      const body = (await readJsonInput(file)) as RequestOf<typeof setPolicy>['body'];
      const put = await serverClient(process.env, tenantKey).setPolicy({ body });
      report('policy', put.changed, put.policy.version);
      print(put.policy);
    });
  policy
    .command('get')
    .description('print the policy in force')
    .action(async () => print(await serverClient(process.env, tenantKey).getPolicy()));
  policy
    .command('history')
    .description('print every version of the policy, oldest first')
    .action(async () => print((await serverClient(process.env, tenantKey).policyHistory()).items));

  const prices = program.command('prices').description('the price table (PUT/GET /v1/admin/price-tables)');
  prices
    .command('set <file>')
    .description('adopt the price table in FILE ({version, models}; - for stdin) for new runs')
    .action(async (file: string) => {
      const body = (await readJsonInput(file)) as RequestOf<typeof setPriceTable>['body'];
      const put = await serverClient().setPriceTable({ body });
      report('price table', put.changed, put.priceTable.version);
      print(put.priceTable);
    });
  prices
    .command('get')
    .description('print the price table in force')
    .action(async () => print(await serverClient().getPriceTable()));
  prices
    .command('history')
    .description('print every price table adopted, oldest first')
    .action(async () => print((await serverClient().priceTableHistory()).items));
}
