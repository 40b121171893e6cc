// Two projects: fast tests (unit, snapshot, fixtures) and end-to-end tests that start the real
// local control plane and the real Pulumi CLI. scripts/test.sh runs both.
const tsJest = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
module.exports = {
  // Longest e2e files first, also on a fresh machine without Jest's timing cache (test/support/sequencer.js).
  testSequencer: '<rootDir>/test/support/sequencer.js',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/snapshot/**/*.test.ts', '<rootDir>/policies/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/per-file-tmpdir.ts', '<rootDir>/test/support/unit-timeout.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: tsJest,
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
  ],
};
