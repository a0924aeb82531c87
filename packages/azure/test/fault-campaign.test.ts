// The fault campaign (see @storagedriver/testsuite): the driver behind a fault-injecting proxy, checked
// through a second driver that talks to Azurite directly. The proxy terminates TLS with a certificate
// made here (the driver's skipverify accepts it, as it accepts Azurite's) and trusts Azurite's.
import { selfSignedCertificate, serviceErrors, testFaultCampaign } from '@storagedriver/testsuite';

import { connection, createContainer, newDriver } from './support/server.js';

const container = createContainer('campaign');

testFaultCampaign({
  name: 'azure',
  upstream: connection().endpoint,
  upstreamCA: connection().ca,
  tls: selfSignedCertificate(),
  createDirect: async () => newDriver(await container, { rootDirectory: 'faults' }),
  createThroughProxy: async (proxyEndpoint) => newDriver(await container, { rootDirectory: 'faults', serviceUrl: proxyEndpoint }),
  errorResponse: serviceErrors.azure,
  seed: 1,
  log: (line) => process.stderr.write(`${line}\n`),
});
