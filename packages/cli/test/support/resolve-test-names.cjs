// The oss driver addresses buckets virtual-hosted (`<bucket>.s3.test`), a name only the tests know:
// required in a test process, or preloaded into the CLI's (`NODE_OPTIONS=--require …`), it makes
// dns.lookup answer `s3.test` and its subdomains with 127.0.0.1 (the name in OSS_TEST_DNS_NAME; as
// packages/oss/test/support/names.ts, which is TypeScript and so cannot be preloaded by plain node).
// No DNS server or hosts file is changed.
const dns = require('node:dns');

const name = process.env.OSS_TEST_DNS_NAME;
const original = dns.lookup;

function lookup(hostname, options, callback) {
  if (typeof options === 'function') return lookup(hostname, {}, options);
  if (name === undefined || (hostname !== name && !hostname.endsWith(`.${name}`))) return original.call(dns, hostname, options, callback);
  const all = typeof options === 'object' && options !== null && options.all === true;
  process.nextTick(() => (all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)));
}

dns.lookup = lookup;
