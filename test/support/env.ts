/** Where the test suites find their servers. CI and developers can point them elsewhere. */
export const TEST_PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_DB_TEMPLATE = process.env.TEST_DB_NAME ?? 'mailsystem_test';
/** A Redis database number of the tests' own; suites use unique key prefixes inside it. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export const dbUrl = (name: string) => `${TEST_PG_URL}/${name}`;
