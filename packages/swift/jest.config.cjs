// Two servers per jest run, started in parallel by globalSetup: Ceph RADOS Gateway's Swift API
// (≈15 s) and a single-replica OpenStack Swift (≈5 s). Test files get their endpoints through
// process.env and create a container of their own.
module.exports = {
  ...require('../../tooling/jest/preset.cjs'),
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 300_000,
  // Two workers: the files of the two servers run side by side (each server is mostly waiting on
  // its own process, Ceph's C++ or Swift's Python proxy, not on the test's).
  maxWorkers: 2,
};
