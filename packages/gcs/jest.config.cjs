// One fake-gcs-server per jest run: globalSetup starts it and hands the endpoint to the test files
// through process.env; every test file creates its own bucket.
module.exports = {
  ...require('../../tooling/jest/preset.cjs'),
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 300_000,
};
