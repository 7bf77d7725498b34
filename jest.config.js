/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Text imports, as esbuild's text loader makes them in bundles (serverless.yml, scripts/run.mjs).
    '^.+\\.(lua|html|css)$': '<rootDir>/test/helpers/lua-transform.cjs',
    '^.+(\\.page-script\\.js|uPlot\\.iife\\.min\\.js)$': '<rootDir>/test/helpers/lua-transform.cjs',
    '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // jose and middy ship only ES modules: let swc turn it into CommonJS like the project's code.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@middy|@seriousme|uplot)/)'],
  moduleFileExtensions: ['ts', 'js', 'json', 'lua', 'cjs', 'html', 'css'],
  globalSetup: '<rootDir>/test/helpers/global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.mjs',
  setupFiles: ['<rootDir>/test/helpers/worker-env.ts', '<rootDir>/test/helpers/restore-in-process.ts'],
  testTimeout: 30_000,
  maxWorkers: 2,
};
