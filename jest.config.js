/** @type {import('jest').Config} */
// @kubernetes/client-node 1.x and its auth helpers ship ESM only; jest's loader is CJS, so they are transformed.
const esmPackages = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];

const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j|mj)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
};

module.exports = {
  // Tests under test/stack/ run against the real kube-apiserver + etcd + Temporal dev server that the
  // stack project's global setup starts once per run; everything else needs no server of ours.
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/test/stack/', '/test/faults/', '/test/fast/', '/node_modules/'],
    },
    {
      // Workflow logic on the real Temporal dev server (TestWorkflowEnvironment.createLocal, the cached
      // CLI) with mocked activities and timers scaled by a test-only interceptor: hours pass in seconds.
      ...shared,
      displayName: 'fast',
      roots: ['<rootDir>/test/fast'],
      testMatch: ['**/*.test.ts'],
    },
    {
      ...shared,
      displayName: 'stack',
      roots: ['<rootDir>/test/stack'],
      testMatch: ['**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      // Fault injection on the same stack (jest runs a global setup shared by projects once).
      ...shared,
      displayName: 'faults',
      roots: ['<rootDir>/test/faults'],
      testMatch: ['**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 120000,
  // Stack and fault suites spend most of their time waiting on servers, timers and storm windows: with
  // two workers the 2-core machine was busy 45 % of the run, with three 80 %. Four (92 %) failed a
  // stack test in a fresh-clone CI run, so three it is.
  maxWorkers: 3,
};
