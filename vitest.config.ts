import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**', '.cache/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real servers (QuestDB, Mosquitto) are started once per run here, not per test.
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
  },
});
