// OpenAPI at /docs: the JSON document lists every route the server has, each with its
// auth, request shapes and responses (the one error shape included), and the UI answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeDocs } from '../../api/openapi.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('OpenAPI at /docs', () => {
  let app: TestApp;
  let doc: any;
  beforeAll(async () => {
    app = await startTestApp('pglite', { AOS_EXECUTOR: 'off' });
    const response = await app.request('GET', '/docs/json');
    expect(response.status).toBe(200);
    doc = response.body;
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
    // The docs' own routes and the console's static files are not API.
    return routes
      .filter((route) => !['/docs', '/console'].some((prefix) => route.split(' ')[1]!.startsWith(prefix)))
      .sort();
  }

  it('lists every route', () => {
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) =>
        methods.filter((m) => operations[m]).map((m) => `${m.toUpperCase()} ${path}`),
      )
      .sort();
    const routes = serverRoutes();
    expect(routes.length).toBeGreaterThan(20);
    expect(documented).toEqual(routes);
  });

  it('has a hand-written entry (summary, shapes, auth) for every route: add new routes to api/openapi.ts', () => {
    const described = Object.keys(routeDocs)
      .map((route) => route.replace(/:(\w+)/g, '{$1}'))
      .sort();
    expect(serverRoutes().filter((route) => !described.includes(route))).toEqual([]);
  });

  it('documents bearer auth, public routes, request shapes and responses', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/metrics'].get.security).toEqual([]);

    const submit = doc.paths['/v1/runs'].post;
    expect(submit.security).toBeUndefined();
    expect(submit.description).toMatch(/operator/);
    const body = submit.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['agentId', 'plan', 'budget']));
    expect(submit.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key' })]),
    );
    for (const status of ['202', '400', '401', '403', '413', '429'])
      expect(submit.responses[status]).toBeDefined();
    expect(submit.responses['400'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Error',
    });
    expect(doc.components.schemas.Error.properties.error.required).toEqual(['code', 'message']);

    const run = doc.paths['/v1/runs/{id}'].get;
    expect(run.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'id', required: true })]),
    );
    expect(run.responses['200'].content['application/json'].schema.properties.steps).toBeDefined();
    expect(run.responses['404']).toBeDefined();

    const history = doc.paths['/v1/status-history'].get;
    const format = history.parameters.find((p: { name: string }) => p.name === 'format');
    expect(format.schema.enum).toEqual(['json', 'csv', 'jsonl']);
  });

  it('serves the UI without a key', async () => {
    const ui = await app.request('GET', '/docs/');
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });
});
