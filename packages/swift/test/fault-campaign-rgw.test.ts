// The fault campaign (see @storagedriver/testsuite): the driver behind a fault-injecting proxy, checked
// through a second driver that talks to the server directly. The proxy forwards the Host header, so
// the storage URL the auth answer gives points at the proxy too.
import { testFaultCampaign } from '@storagedriver/testsuite';

import { connection, containerName, newDriver, swiftErrors } from './support/server.js';

const container = containerName('campaign');
// A short answer bound: the unanswered trial's held requests are given up after it, not after 30 s.
const ANSWER_TIMEOUT_MS = 3000;
const auth = new URL(connection('rgw').authurl);

testFaultCampaign({
  name: 'swift on Ceph RGW',
  upstream: auth.origin,
  createDirect: () => newDriver('rgw', container, { prefix: 'faults' }),
  createThroughProxy: (endpoint) => newDriver('rgw', container, { prefix: 'faults', authurl: `${endpoint}${auth.pathname}`, answertimeout: `${ANSWER_TIMEOUT_MS}ms` }),
  answerTimeoutMs: ANSWER_TIMEOUT_MS,
  errorResponse: swiftErrors,
  seed: 1,
  // Two listing pages (1000 entries each) are enough to fault a later page; the default 2000 keys cost OpenStack Swift ≈30 s to store.
  walkKeys: 1100,
  log: (line) => process.stderr.write(`${line}\n`),
});
