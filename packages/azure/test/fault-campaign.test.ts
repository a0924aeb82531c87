// The fault campaign (see @storagedriver/testsuite): the driver behind a fault-injecting proxy, checked
// through a second driver that talks to Azurite directly. The proxy terminates TLS with a certificate
// made here (the driver's skipverify accepts it, as it accepts Azurite's) and trusts Azurite's.
import { selfSignedCertificate, serviceErrors, testFaultCampaign } from '@storagedriver/testsuite';

import { connection, createContainer, newDriver } from './support/server.js';

const container = createContainer('campaign');
// A short answer bound: the unanswered trial's held requests are given up after it, not after 30 s.
const ANSWER_TIMEOUT_MS = 3000;

testFaultCampaign({
  name: 'azure',
  upstream: connection().endpoint,
  upstreamCA: connection().ca,
  tls: selfSignedCertificate(),
  createDirect: async () => newDriver(await container, { rootDirectory: 'faults' }),
  createThroughProxy: async (proxyEndpoint) => newDriver(await container, { rootDirectory: 'faults', serviceUrl: proxyEndpoint, answerTimeoutMs: ANSWER_TIMEOUT_MS }),
  answerTimeoutMs: ANSWER_TIMEOUT_MS,
  errorResponse: serviceErrors.azure,
  seed: 1,
  log: (line) => process.stderr.write(`${line}\n`),
});
