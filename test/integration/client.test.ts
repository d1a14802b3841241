import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createMailsystemClient, unwrap } from '../../src/client/mailsystem-client.js';
import { ADMIN_TOKEN } from '../support/env.js';
import { type Harness, startHarness } from '../support/harness.js';
import { renderClientSchema } from '../support/openapi-client.js';

const FILE = join(import.meta.dirname, '..', '..', 'src', 'client', 'openapi.generated.ts');

describe('the typed client', () => {
  let h: Harness;
  let baseUrl: string;

  beforeAll(async () => {
    h = await startHarness({ roles: { api: true, worker: false } });
    baseUrl = await h.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => h?.close());

  it('is generated from the OpenAPI document the API serves (npm run generate:client rewrites it)', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body;
    const rendered = await renderClientSchema(doc);
    if (process.env.UPDATE_CLIENT === '1') await writeFile(FILE, rendered);
    expect(await readFile(FILE, 'utf8')).toBe(rendered);
  });

  it('calls the API with a key and turns error bodies into ApiError', async () => {
    const admin = createMailsystemClient({ baseUrl, token: ADMIN_TOKEN });
    const tenant = await unwrap(admin.POST('/admin/tenants', { body: { name: 'Typed client' } }));
    const key = await unwrap(
      admin.POST('/admin/tenants/{id}/api-keys', {
        params: { path: { id: tenant.id } },
        body: { name: 'ts' },
      }),
    );
    const client = createMailsystemClient({ baseUrl, token: key.key });
    const me = await unwrap(client.GET('/me'));
    expect(me.tenant.id).toBe(tenant.id);

    const missing = await unwrap(
      client.GET('/emails/{id}', { params: { path: { id: '00000000-0000-4000-8000-000000000000' } } }),
    ).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, code: 'email_not_found' });

    const unreachable = await unwrap(
      createMailsystemClient({ baseUrl: 'http://127.0.0.1:9', token: key.key }).GET('/me'),
    ).catch((e: unknown) => e);
    expect(unreachable).toMatchObject({ status: 0, code: 'network_error' });
  });
});
