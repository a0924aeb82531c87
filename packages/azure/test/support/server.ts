/** The Azurite globalSetup started: a fresh container per test file and drivers on it. */
import { Agent } from 'node:https';

import type { ContainerClient } from '@azure/storage-blob';

import type { DriverConstruction } from '@storagedriver/testsuite';

import { AzureBackend, AzureDriver, type AzureOptions } from '../../src/index.js';

export function connection() {
  const endpoint = process.env.AZURE_TEST_ENDPOINT;
  if (endpoint === undefined) throw new Error('AZURE_TEST_ENDPOINT is not set: run through jest (globalSetup starts Azurite)');
  return { endpoint, accountName: process.env.AZURE_TEST_ACCOUNT!, accountKey: process.env.AZURE_TEST_KEY!, ca: process.env.AZURE_TEST_CA! };
}

/** An HTTPS agent that trusts the certificate the setup generated (and nothing self-signed besides). */
export function trustingAgent(): Agent {
  return new Agent({ ca: connection().ca });
}

export function driverOptions(container: string, extra: Partial<AzureOptions> = {}): AzureOptions {
  const { endpoint, accountName, accountKey } = connection();
  // Azurite's certificate is self-signed: the driver's skipverify is what lets the SDK talk to it.
  return { container, accountName, serviceUrl: endpoint, credentials: { type: 'shared_key', accountKey }, skipVerify: true, ...extra };
}

export function newDriver(container: string, extra: Partial<AzureOptions> = {}): AzureDriver {
  return new AzureDriver(driverOptions(container, extra));
}

/** A raw SDK client on the container, for checks behind the driver's back. */
export function rawContainer(container: string): ContainerClient {
  return new AzureBackend(driverOptions(container)).container;
}

export async function createContainer(name: string): Promise<string> {
  const container = `${name}-${Date.now().toString(36)}`;
  await rawContainer(container).create();
  return container;
}

/** The suite's construction case: the constructor, and options like the suite driver's (no I/O happens). */
export function construction(): DriverConstruction {
  return { make: (options) => new AzureDriver(options as unknown as AzureOptions), options: { ...driverOptions('construction'), rootDirectory: 'suite/root' } };
}
