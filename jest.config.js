/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

const common = {
  // jest's Node environment, which also removes the tests' temporary directories (test/support/temp-dir.ts).
  testEnvironment: '<rootDir>/test/support/environment.ts',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^@menagerie/([^/]+)$': '<rootDir>/libs/$1/src' },
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  projects: [
    {
      // Nothing but Node: no root, no Docker, no service, no build (`npm run test:unit`, in seconds).
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.spec.ts', '<rootDir>/libs/*/src/**/*.spec.ts'],
    },
    {
      // What needs more of the host than Node, still no service: root (loop devices, mounts, files
      // given to other users; those tests are skipped without it), the docker-compose CLI, and the
      // built apps (apps/*/dist, `npm run build`).
      ...common,
      displayName: 'host',
      testMatch: ['<rootDir>/test/host/**/*.spec.ts'],
    },
    {
      // The lint rules themselves, run through ESLint without type information (the lint step has it).
      ...common,
      displayName: 'lint',
      testMatch: ['<rootDir>/test/lint/**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'workflow',
      testMatch: ['<rootDir>/test/workflow/**/*.spec.ts'],
      testTimeout: 120_000,
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      testTimeout: 300_000,
    },
    {
      // Each catalogue engine in its container, contained as the worker runs it, on samples made
      // here (scripts/build-samples.sh): what it reports, not the pipeline around it. Docker only.
      ...common,
      displayName: 'engines',
      testMatch: ['<rootDir>/test/engines/**/*.spec.ts'],
      testTimeout: 300_000,
    },
    {
      ...common,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      testTimeout: 300_000,
    },
    {
      ...common,
      displayName: 'cluster',
      testMatch: ['<rootDir>/test/cluster/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      testTimeout: 600_000,
    },
    {
      ...common,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      testTimeout: 180_000,
    },
  ],
};
