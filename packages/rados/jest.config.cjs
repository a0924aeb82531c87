// One Ceph cluster per jest run (≈15 s to start): globalSetup starts it, creates the pools and the
// limited cephx user, and hands them to the test files through process.env.
module.exports = {
  ...require('../../tooling/jest/preset.cjs'),
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 300_000,
};
