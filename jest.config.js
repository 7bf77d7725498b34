/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    '^.+\\.lua$': '<rootDir>/test/helpers/lua-transform.cjs',
  },
  // jose and middy ship only ES modules: let swc turn it into CommonJS like the project's code.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@middy|@seriousme)/)'],
  moduleFileExtensions: ['ts', 'js', 'json', 'lua', 'cjs'],
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
  setupFiles: ['<rootDir>/test/helpers/worker-env.ts', '<rootDir>/test/helpers/restore-in-process.ts'],
  testTimeout: 30_000,
  maxWorkers: 2,
};
