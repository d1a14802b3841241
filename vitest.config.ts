import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites share one PostgreSQL database and one Redis database; each file uses
    // its own tenants, so files may run in parallel, but two workers keep the 2-core machine responsive.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
