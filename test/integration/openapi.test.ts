import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

type Operation = {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { description?: string; content?: Record<string, { schema?: any }> }>;
};

/** `/emails/:id` → `/emails/{id}`, as OpenAPI writes paths. */
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('the OpenAPI document', () => {
  let h: Harness;
  let doc: any;

  beforeAll(async () => {
    h = await startHarness({ roles: { api: true, worker: false } });
    const r = await h.request('GET', '/openapi.json');
    expect(r.status).toBe(200);
    doc = r.body;
  });
  afterAll(() => h?.close());

  it('validates as OpenAPI 3', async () => {
    expect(doc.openapi).toMatch(/^3\./);
    // validate() resolves every $ref and checks the document against the OpenAPI schema.
    await SwaggerParser.validate(structuredClone(doc));
  });

  it('lists every route the app has, and nothing else', () => {
    const routes = h.app.routeCatalogue.filter((r) => !r.hidden && r.method !== 'HEAD');
    const expected = routes.map((r) => `${r.method} ${openapiPath(r.url)}`).sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, Operation>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(expected);
    // The core of the contract is there.
    for (const op of [
      'POST /send',
      'GET /emails/{id}',
      'GET /analytics',
      'GET /metrics',
      'GET /health/ready',
    ]) {
      expect(documented).toContain(op);
    }
  });

  it('describes every operation: summary, tags, security, a success response (2xx, or a redirect) and JSON errors', () => {
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect({ where, summary: typeof op.summary }).toEqual({ where, summary: 'string' });
        expect({ where, tags: (op.tags?.length ?? 0) > 0 }).toEqual({ where, tags: true });
        expect({ where, security: Array.isArray(op.security) }).toEqual({ where, security: true });
        const statuses = Object.keys(op.responses);
        expect({ where, success: statuses.some((s) => /^[23]/.test(s)) }).toEqual({ where, success: true });
        expect({ where, has500: statuses.includes('500') }).toEqual({ where, has500: true });
        for (const s of statuses.filter((x) => /^[45]/.test(x))) {
          const schema = op.responses[s]?.content?.['application/json']?.schema;
          expect({ where, s, error: schema?.properties?.error?.required }).toEqual({
            where,
            s,
            error: ['code', 'message'],
          });
        }
      }
    }
  });

  it('documents authentication: tenant routes need an API key, admin routes the admin token', () => {
    expect(Object.keys(doc.components.securitySchemes)).toEqual(
      expect.arrayContaining(['apiKey', 'adminToken']),
    );
    expect(doc.paths['/send'].post.security).toEqual([{ apiKey: [] }]);
    expect(doc.paths['/send'].post.responses['429']).toBeDefined();
    expect(doc.paths['/admin/tenants'].post.security).toEqual([{ adminToken: [] }]);
    expect(doc.paths['/health/live'].get.security).toEqual([]);
    const analytics = doc.paths['/analytics'].get;
    expect(analytics.parameters.map((p: { name: string }) => p.name).sort()).toEqual(
      ['from', 'group_by', 'include_test', 'template_id', 'tenant_id', 'to'].sort(),
    );
  });

  it('serves the viewer at /docs', async () => {
    const r = await h.request('GET', '/docs/', { headers: { accept: 'text/html' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
  });
});
