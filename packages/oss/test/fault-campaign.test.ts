// The fault campaign (see @storagedriver/testsuite): the driver behind a fault-injecting proxy, checked
// through a second driver that talks to Ceph directly. The proxied driver addresses
// `<bucket>.s3.test:<proxy port>` (resolved to the proxy), the proxy forwards Host unchanged, and
// RGW serves it virtual-hosted.
import { serviceErrors, testFaultCampaign } from '@storagedriver/testsuite';

import { connection, createBucket, newDriver } from './support/server.js';

const bucket = createBucket('campaign');
// A short answer bound: the unanswered trial's held requests are given up after it, not after 30 s.
const ANSWER_TIMEOUT_MS = 3000;

testFaultCampaign({
  name: 'oss',
  upstream: connection().upstream,
  createDirect: async () => newDriver(await bucket, { rootDirectory: 'faults' }),
  // The proxy listens on 127.0.0.1: the same port under the gateway's DNS name keeps the requests virtual-hosted.
  createThroughProxy: async (proxyEndpoint) =>
    newDriver(await bucket, { rootDirectory: 'faults', endpoint: `http://${process.env.OSS_TEST_DNS_NAME}:${new URL(proxyEndpoint).port}`, answerTimeoutMs: ANSWER_TIMEOUT_MS }),
  answerTimeoutMs: ANSWER_TIMEOUT_MS,
  errorResponse: serviceErrors.s3,
  seed: 1,
  log: (line) => process.stderr.write(`${line}\n`),
});
