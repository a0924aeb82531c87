// The fault campaign (see @storagedriver/testsuite): the driver behind a fault-injecting proxy, checked
// through a second driver that talks to Azurite directly. The proxy terminates TLS with a certificate
// made here (the driver's skipverify accepts it, as it accepts Azurite's) and trusts Azurite's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { serviceErrors, testFaultCampaign } from '@storagedriver/testsuite';

import { connection, createContainer, newDriver } from './support/server.js';

function selfSignedCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-faults-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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
