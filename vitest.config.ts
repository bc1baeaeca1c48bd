import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql 16 ships index.js and index.mjs without an `exports` map: Node (and so yoga, Pothos)
  // loads index.js, while Vite would pick index.mjs for our own files. Two copies break
  // `instanceof GraphQLError`, so every import goes to the one Node uses.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Disposes each file's fixtures (tests/support/leftovers.ts) after it.
    setupFiles: ['tests/support/setup.ts'],
    testTimeout: 30_000,
    // expect.poll waits for what a browser journey shows as long as a Playwright step waits
    // (tests/support/browser.ts): its default second is not enough on a loaded machine.
    expect: { poll: { timeout: 8_000 } },
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only queue on Postgres.
    maxWorkers: 2,
  },
});
