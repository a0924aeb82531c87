// The fault campaign (see @storagedriver/testsuite): the driver behind a fault-injecting proxy, checked
// through a second driver that talks to Ceph directly. The proxied driver signs for the proxy's
// address; the proxy forwards Host unchanged and RGW serves path-style requests whatever the Host.
import { serviceErrors, testFaultCampaign } from '@storagedriver/testsuite';

import { connection, createBucket, newDriver } from './support/server.js';

const bucket = createBucket('campaign');
// A short answer bound: the unanswered trial's held requests are given up after it, not after 30 s.
const ANSWER_TIMEOUT_MS = 3000;

testFaultCampaign({
  name: 's3',
  upstream: connection().endpoint,
  createDirect: async () => newDriver(await bucket, { rootDirectory: 'faults' }),
  createThroughProxy: async (proxyEndpoint) => newDriver(await bucket, { rootDirectory: 'faults', regionEndpoint: proxyEndpoint, answerTimeoutMs: ANSWER_TIMEOUT_MS }),
  answerTimeoutMs: ANSWER_TIMEOUT_MS,
  errorResponse: serviceErrors.s3,
  seed: 1,
  log: (line) => process.stderr.write(`${line}\n`),
});
