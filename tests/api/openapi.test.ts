// OpenAPI at /docs: generated from the routes' own zod schemas. The document is valid
// OpenAPI 3, lists every route the server has with its permission, and real answers match
// the response schemas it documents (ajv against the document's own schemas).
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_KEY, startTestApp, type TestApp, waitForRun } from '../support/app.ts';
import { until } from '../support/events.ts';

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;
const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

describe('OpenAPI at /docs', () => {
  let app: TestApp;
  let doc: any;
  let key: string;
  let runId: string;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);

  beforeAll(async () => {
    app = await startTestApp('pglite');
    const response = await app.request('GET', '/docs/json');
    expect(response.status).toBe(200);
    doc = response.body;
    ajv.addSchema(doc, 'doc');
    key = await app.keyFor('docs', 'admin');
    const submitted = await app.request('POST', '/v1/runs', {
      key,
      body: {
        agentId: 'docs',
        plan: { steps: [{ skill: 'json_transform', input: { expression: 'a', data: { a: 1 } } }] },
        budget: { maxCostMicros: 1_000_000 },
      },
    });
    expect(submitted.status).toBe(202);
    runId = submitted.body.runId;
    await waitForRun(app, key, runId, ['succeeded']);
    // The run's detail is folded from its events; the list is a read model, a moment behind.
    await until('the runs read model lists the run as succeeded', async () => {
      const list = await app.request('GET', '/v1/runs', { key });
      return list.body.items.some(
        (r: { runId: string; status: string }) => r.runId === runId && r.status === 'succeeded',
      );
    });
  });
  afterAll(() => app.stop());

  /** Every route the server answers, as "METHOD /openapi/{path}", the docs' own excepted. */
  function serverRoutes(): string[] {
    const routes: string[] = [];
    const stack: string[] = [''];
    for (const line of app.server.printRoutes({ commonPrefix: false }).split('\n')) {
      const match = /^([│├└─\s]*)(\S+) \(([A-Z, ]+)\)$/.exec(line);
      if (!match) continue;
      const depth = match[1]!.length / 4;
      const path = stack[depth - 1]! + match[2]!;
      stack[depth] = path;
      for (const method of match[3]!.split(', ')) {
        if (method === 'HEAD' || method === 'OPTIONS') continue;
        routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
      }
    }
    // The docs' own routes and the console's static files are not API. Once routes under /api
    // exist, find-my-way prints the console's `/console/*` as a bare `*` (hasRoute confirms no
    // `*` route is registered), so that line is the console's too.
    return routes
      .filter(
        (route) => !['/docs', '/console', '*'].some((prefix) => route.split(' ')[1]!.startsWith(prefix)),
      )
      .sort();
  }

  const operations = () =>
    Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      methods
        .filter((m) => item[m])
        .map((m) => ({ route: `${m.toUpperCase()} ${path}`, operation: item[m] })),
    );

  it('is a valid OpenAPI 3 document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\.0\./);
  });

  it('lists every route, each with its permission (or public), responses and the error shape', () => {
    const documented = operations()
      .map(({ route }) => route)
      .sort();
    const routes = serverRoutes();
    expect(routes.length).toBeGreaterThan(25);
    expect(documented).toEqual(routes);
    for (const { route, operation } of operations()) {
      expect(operation.summary, route).toBeTruthy();
      expect(
        Object.keys(operation.responses).some((s) => s.startsWith('2')),
        route,
      ).toBe(true);
      if (operation.security) {
        expect(operation.security, route).toEqual([]);
      } else {
        expect(operation['x-permission'], route).toMatch(/^[a-z_]+$/);
        expect(operation.responses['403'].content['application/json'].schema, route).toEqual({
          $ref: '#/components/schemas/Error',
        });
      }
    }
  });

  it('documents bearer auth, request shapes and responses from the route schemas', () => {
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/metrics'].get.security).toEqual([]);

    const submit = doc.paths['/v1/runs'].post;
    expect(submit['x-permission']).toBe('submit');
    expect(submit.description).toMatch(/operator/);
    const body = submit.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['agentId', 'plan', 'budget']));
    expect(submit.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key' })]),
    );
    for (const status of ['202', '400', '401', '403', '413', '415', '429'])
      expect(submit.responses[status], status).toBeDefined();
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);

    const run = doc.paths['/v1/runs/{id}'].get;
    expect(run.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'id', required: true })]),
    );
    const history = doc.paths['/v1/status-history'].get;
    const format = history.parameters.find((p: { name: string }) => p.name === 'format');
    expect(format.schema.enum).toEqual(['json', 'csv', 'jsonl']);
  });

  /** Checks an answer against the schema the document gives for its route and status. */
  async function expectDocumented(method: 'GET' | 'POST', route: string, url: string, requestKey?: string) {
    const response = await app.request(method, url, requestKey ? { key: requestKey } : {});
    const status = String(response.status);
    const schemaAt = pointer(
      'paths',
      route,
      method.toLowerCase(),
      'responses',
      status,
      'content',
      'application/json',
      'schema',
    );
    const validate = ajv.getSchema(`doc#/${schemaAt}`);
    expect(validate, `${method} ${route} documents ${status}`).toBeDefined();
    const valid = validate!(response.body);
    expect(validate!.errors ?? [], `${method} ${url} → ${status}`).toEqual([]);
    expect(valid).toBe(true);
    return response;
  }

  it('answers what it documents: runs, a run, its events, status history, costs, whoami, an error', async () => {
    const list = await expectDocumented('GET', '/v1/runs', '/v1/runs', key);
    expect(list.body.items.map((r: { runId: string }) => r.runId)).toContain(runId);
    const detail = await expectDocumented('GET', '/v1/runs/{id}', `/v1/runs/${runId}`, key);
    expect(detail.body.status).toBe('succeeded');
    const events = await expectDocumented('GET', '/v1/runs/{id}/events', `/v1/runs/${runId}/events`, key);
    expect(events.body.total).toBeGreaterThan(2);
    const history = await expectDocumented(
      'GET',
      '/v1/status-history',
      `/v1/status-history?entity_id=${runId}`,
      key,
    );
    expect(history.body.items.length).toBeGreaterThan(0);
    await expectDocumented('GET', '/v1/status-history/stats', '/v1/status-history/stats', key);
    await expectDocumented('GET', '/v1/costs', '/v1/costs?group_by=skill', key);
    await expectDocumented('GET', '/v1/divergence', '/v1/divergence', key);
    await expectDocumented('GET', '/status_history', '/status_history', key);
    const me = await expectDocumented('GET', '/v1/whoami', '/v1/whoami', key);
    expect(me.body.role).toBe('admin');
    const missing = await expectDocumented('GET', '/v1/runs/{id}', `/v1/runs/${crypto.randomUUID()}`, key);
    expect(missing.status).toBe(404);
    const invalid = await expectDocumented('GET', '/v1/runs', '/v1/runs?start_time=yesterday', key);
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.issues[0].path).toEqual(['start_time']);
    const unauthenticated = await expectDocumented('GET', '/v1/runs', '/v1/runs');
    expect(unauthenticated.status).toBe(401);
  });

  it('answers what it documents: the policy, its history and the runtime queries', async () => {
    expect((await expectDocumented('GET', '/v1/policy', '/v1/policy', key)).body.source).toBe('default');
    await expectDocumented('GET', '/v1/policy/history', '/v1/policy/history', key);
    await expectDocumented('GET', '/v1/admin/price-tables', '/v1/admin/price-tables', SYSTEM_KEY);
    for (const query of [
      'remaining_budget',
      'what_did_i_try_already?agentId=researcher',
      'last_step_outcome?agentId=researcher',
      'allowed_skills',
      'skills_available_for_goal?goal=fetch%20a%20page',
    ]) {
      const answer = await expectDocumented(
        'GET',
        '/v1/runtime/query/{type}',
        `/v1/runtime/query/${query}`,
        key,
      );
      expect(answer.status, query).toBe(200);
    }
    const refused = await expectDocumented(
      'GET',
      '/v1/runtime/query/{type}',
      '/v1/runtime/query/last_step_outcome',
      key,
    );
    expect(refused.status).toBe(400);
  });

  it('serves the UI without a key', async () => {
    const ui = await app.request('GET', '/docs/');
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });
});
