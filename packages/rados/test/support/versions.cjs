// The content of version v of the kill test's file, shared by the test (CommonJS under jest) and the
// writing child (ESM): its size depends on v, and its first 8 bytes say v, so any visible content
// names the version it must equal byte for byte.
const { patternBytes } = require('@storagedriver/testsuite');

function versionBytes(version) {
  const size = 100 * 1024 + ((version * 7919) % (400 * 1024));
  const bytes = patternBytes(size, version);
  bytes.writeBigUInt64LE(BigInt(version), 0);
  return bytes;
}

module.exports = { versionBytes };
