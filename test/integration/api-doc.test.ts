import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderApiDoc } from '../support/api-doc.js';
import { type Harness, startHarness } from '../support/harness.js';

const FILE = join(import.meta.dirname, '..', '..', 'docs', 'api.md');

describe('docs/api.md', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ roles: { api: true, worker: false } });
  });
  afterAll(() => h?.close());

  it('says what the OpenAPI document says (npm run docs:api rewrites it)', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body;
    const rendered = renderApiDoc(doc);
    if (process.env.UPDATE_API_DOC === '1') await writeFile(FILE, rendered);
    expect(await readFile(FILE, 'utf8')).toBe(rendered);
  });
});
