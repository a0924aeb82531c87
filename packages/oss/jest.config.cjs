// One Ceph cluster per jest run, its gateway serving virtual-hosted names (`<bucket>.s3.test`):
// globalSetup starts it and hands the endpoint to the test files through process.env.
module.exports = {
  ...require('../../tooling/jest/preset.cjs'),
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  setupFiles: ['<rootDir>/test/support/resolve-test-names.ts'],
  testTimeout: 300_000,
};
