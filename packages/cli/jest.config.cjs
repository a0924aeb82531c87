// The tests drive the built binary (dist/esm/bin.js, built by turbo before `test`) as a child process
// against real servers: globalSetup starts one Ceph cluster (for s3, swift, rados and oss), Azurite and
// fake-gcs-server once per run.
module.exports = {
  ...require('../../tooling/jest/preset.cjs'),
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 600_000,
};
