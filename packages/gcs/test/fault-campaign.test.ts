// The fault campaign (see @storagedriver/testsuite): the driver behind a fault-injecting proxy, checked
// through a second driver that talks to fake-gcs-server directly.
import { serviceErrors, testFaultCampaign } from '@storagedriver/testsuite';

import { createBucket, endpoint, newDriver } from './support/server.js';

const bucket = createBucket('campaign');
// A short answer bound: the unanswered trial's held requests are given up after it, not after 30 s.
const ANSWER_TIMEOUT_MS = 3000;

testFaultCampaign({
  name: 'gcs',
  upstream: endpoint(),
  createDirect: async () => newDriver(await bucket, { rootDirectory: 'faults' }),
  createThroughProxy: async (proxyEndpoint) => newDriver(await bucket, { rootDirectory: 'faults', apiEndpoint: proxyEndpoint, answerTimeoutMs: ANSWER_TIMEOUT_MS }),
  answerTimeoutMs: ANSWER_TIMEOUT_MS,
  errorResponse: serviceErrors.gcs,
  seed: 1,
  log: (line) => process.stderr.write(`${line}\n`),
});
