// One Azurite per jest run (under 1 s to start): globalSetup starts it and hands the endpoint to the
// test files through process.env; every test file creates its own container.
module.exports = {
  ...require('../../tooling/jest/preset.cjs'),
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 300_000,
};
