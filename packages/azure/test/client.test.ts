// @azure/identity is an optional peer: these tests prove the driver loads it only for token
// credentials and that, when it is missing, requests fail with a DriverError that says what to install.
import { DriverError } from '@storagedriver/core';

import { createClients, loadIdentity, type IdentityImport } from '../src/client.js';
import type { AzureCredentials, AzureOptions } from '../src/params.js';

/** An import of a package that is not installed: it fails exactly as a missing @azure/identity does. */
const missingPackage: IdentityImport = () => {
  const name = '@azure/identity-not-installed';
  return import(name) as ReturnType<IdentityImport>;
};

test('a missing @azure/identity is a DriverError naming the package, the credentials type and how to install it', async () => {
  const error = await loadIdentity('client_secret', missingPackage).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DriverError);
  const driverError = error as DriverError;
  expect(driverError.message).toContain('credentials type client_secret needs the optional package @azure/identity');
  expect(driverError.message).toContain('npm install @azure/identity');
  expect(driverError.retryable).toBe(false);
  expect((driverError.cause as { code?: string }).code).toMatch(/^(ERR_)?MODULE_NOT_FOUND$/);
});

test('any other failure of the import is passed on unchanged', async () => {
  const failure = new SyntaxError('broken install');
  await expect(loadIdentity('default_credentials', () => Promise.reject(failure))).rejects.toBe(failure);
});

test('installed (a dev dependency here), @azure/identity is loaded with the credentials the driver builds', async () => {
  const identity = await loadIdentity('default_credentials');
  expect(typeof identity.ClientSecretCredential).toBe('function');
  expect(typeof identity.DefaultAzureCredential).toBe('function');
});

test('with token credentials and no @azure/identity, the first request fails with that DriverError', async () => {
  // https: the SDK refuses bearer tokens over plain HTTP before asking for one. The token is asked
  // for before anything is sent, so nothing listens on this port.
  const credentials: AzureCredentials[] = [{ type: 'client_secret', tenantId: 't', clientId: 'c', secret: 's' }, { type: 'default_credentials' }];
  for (const credential of credentials) {
    const { container } = createClients({ serviceUrl: 'https://127.0.0.1:9/devstoreaccount1', container: 'c', credentials: credential }, missingPackage);
    const error = await container.getProperties().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect((error as Error).message).toContain(`credentials type ${credential.type} needs the optional package @azure/identity`);
  }
});

test('shared key credentials and connection strings never load @azure/identity; token credentials load it once', async () => {
  let loads = 0;
  const counting: IdentityImport = () => {
    loads++;
    return missingPackage();
  };
  const accountKey = Buffer.from('key').toString('base64');
  const configurations: AzureOptions[] = [
    { container: 'c', serviceUrl: 'https://127.0.0.1:9/account', accountName: 'account', credentials: { type: 'shared_key', accountKey } },
    { container: 'c', connectionString: `DefaultEndpointsProtocol=https;AccountName=account;AccountKey=${accountKey};BlobEndpoint=https://127.0.0.1:9/account;` },
  ];
  for (const options of configurations) createClients(options, counting);
  expect(loads).toBe(0);
  createClients({ container: 'c', serviceUrl: 'https://127.0.0.1:9/account' }, counting);
  expect(loads).toBe(1);
});
