import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Interop tests start real servers; two cores are shared with them.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'suites', include: ['__test__/**/*.spec.ts'], exclude: ['__test__/reliability.spec.ts'], sequence: { groupOrder: 0 } },
      },
      {
        // The load tests (hundreds of MB through a server) run after the rest, so the interop
        // tests' short peer timeouts never compete with them for the two cores.
        extends: true,
        test: { name: 'load', include: ['__test__/reliability.spec.ts'], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
