/** Builds the ContainerClient from options: connection string, shared key or an @azure/identity credential. */
import { Agent } from 'node:https';

import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { BlobServiceClient, StorageRetryPolicyType, StorageSharedKeyCredential, newPipeline, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';

import type { AzureOptions } from './params.js';

const PIPELINE: StoragePipelineOptions = {
  // Idempotent by construction (fixed block ids, whole-blob puts), so the SDK may retry every request.
  retryOptions: { retryPolicyType: StorageRetryPolicyType.EXPONENTIAL, maxTries: 5, retryDelayInMs: 200, maxRetryDelayInMs: 10_000 },
  userAgentOptions: { userAgentPrefix: 'storagedriver' },
};

/** The container client, and the service client it came from (absent when the caller passed a client). */
export function createClients(options: AzureOptions): { container: ContainerClient; service?: BlobServiceClient } {
  if (options.client !== undefined) return { container: options.client };
  const service = options.connectionString !== undefined
    ? BlobServiceClient.fromConnectionString(options.connectionString, PIPELINE)
    : new BlobServiceClient(options.serviceUrl!, pipeline(options));
  if (options.skipVerify) acceptAnyCertificate(service);
  return { container: service.getContainerClient(options.container), service };
}

function pipeline(options: AzureOptions) {
  const credentials = options.credentials ?? { type: 'default_credentials' };
  switch (credentials.type) {
    case 'shared_key':
      return newPipeline(new StorageSharedKeyCredential(options.accountName!, credentials.accountKey), PIPELINE);
    case 'client_secret':
      return newPipeline(new ClientSecretCredential(credentials.tenantId, credentials.clientId, credentials.secret), PIPELINE);
    case 'default_credentials':
      return newPipeline(new DefaultAzureCredential(), PIPELINE);
  }
}

/**
 * `skipverify`: the SDK has no public TLS setting, but its pipeline sends through the HttpClient it
 * caches on the pipeline, and that client honours a per-request agent.
 */
function acceptAnyCertificate(service: BlobServiceClient): void {
  const agent = new Agent({ keepAlive: true, rejectUnauthorized: false });
  const inner = createDefaultHttpClient();
  const client: HttpClient = {
    sendRequest: (request) => {
      request.agent = agent;
      return inner.sendRequest(request);
    },
  };
  (service as unknown as { pipeline: { _coreHttpClient?: HttpClient } }).pipeline._coreHttpClient = client;
}
