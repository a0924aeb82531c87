/**
 * Builds the ContainerClient from options: connection string, shared key or an @azure/identity
 * credential. @azure/identity is an optional peer (about half of an install's size): it is imported
 * only when token credentials are configured.
 */
import { Agent } from 'node:https';

import { RestError, createDefaultHttpClient, type HttpClient, type PipelineRequest } from '@azure/core-rest-pipeline';
import { BlobServiceClient, StorageRetryPolicyType, StorageSharedKeyCredential, newPipeline, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { DriverError, answerTimeoutMs, knownBodyBytes } from '@storagedriver/core';

import { defaultServiceUrl, type AzureCredentials, type AzureOptions } from './params.js';

/** The SDK's TokenCredential, named through storage-blob (which depends on @azure/core-auth; we do not). */
type TokenCredential = Extract<Parameters<typeof newPipeline>[0], { getToken: unknown }>;

/** What the driver uses of @azure/identity (kept structural so no declaration of ours names the optional package). */
export interface Identity {
  ClientSecretCredential: new (tenantId: string, clientId: string, clientSecret: string) => TokenCredential;
  DefaultAzureCredential: new () => TokenCredential;
}

/** How @azure/identity is imported; a test passes one that fails as a missing package does. */
export type IdentityImport = () => Promise<Identity>;

const importIdentity: IdentityImport = () => import('@azure/identity');

/**
 * Imports @azure/identity; when it is not installed, a DriverError that says which credentials need
 * it and how to install it (the import's own error is its `cause`).
 */
export async function loadIdentity(type: AzureCredentials['type'], load: IdentityImport = importIdentity): Promise<Identity> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new DriverError(
      `credentials type ${type} needs the optional package @azure/identity, which is not installed: ` +
        'install it beside @storagedriver/azure (npm install @azure/identity), or use shared_key credentials or a connection string',
      { driverName: 'azure', cause: error, retryable: false },
    );
  }
}

/**
 * A token credential whose @azure/identity credential is built on first use: the driver's
 * constructor stays synchronous, and a missing package fails the first request, not the import of
 * this module. The import starts at once so the first request does not wait for it.
 */
class DeferredCredential implements TokenCredential {
  readonly #credential: Promise<TokenCredential>;

  constructor(credential: Promise<TokenCredential>) {
    this.#credential = credential;
    // Observed here so that a driver never used does not leave an unhandled rejection behind.
    credential.catch(() => undefined);
  }

  async getToken(scopes: string | string[], options?: Parameters<TokenCredential['getToken']>[1]): ReturnType<TokenCredential['getToken']> {
    return (await this.#credential).getToken(scopes, options);
  }
}

const PIPELINE: StoragePipelineOptions = {
  // Idempotent by construction (fixed block ids, whole-blob puts), so the SDK may retry every request.
  retryOptions: { retryPolicyType: StorageRetryPolicyType.EXPONENTIAL, maxTries: 5, retryDelayInMs: 200, maxRetryDelayInMs: 10_000 },
  userAgentOptions: { userAgentPrefix: 'storagedriver' },
};

/** The container client, and the service client it came from (absent when the caller passed a client). */
export function createClients(options: AzureOptions, load: IdentityImport = importIdentity): { container: ContainerClient; service?: BlobServiceClient } {
  if (options.client !== undefined) return { container: options.client };
  const service = options.connectionString !== undefined
    ? BlobServiceClient.fromConnectionString(options.connectionString, PIPELINE)
    : new BlobServiceClient(options.serviceUrl ?? defaultServiceUrl(options.accountName!), pipeline(options, load));
  useBoundedHttpClient(service, options.skipVerify ?? false, options.answerTimeoutMs);
  return { container: service.getContainerClient(options.container), service };
}

function pipeline(options: AzureOptions, load: IdentityImport) {
  const credentials = options.credentials ?? { type: 'default_credentials' };
  switch (credentials.type) {
    case 'shared_key':
      return newPipeline(new StorageSharedKeyCredential(options.accountName!, credentials.accountKey), PIPELINE);
    case 'client_secret':
      return newPipeline(new DeferredCredential(loadIdentity(credentials.type, load).then(
        ({ ClientSecretCredential }) => new ClientSecretCredential(credentials.tenantId, credentials.clientId, credentials.secret),
      )), PIPELINE);
    case 'default_credentials':
      return newPipeline(new DeferredCredential(loadIdentity(credentials.type, load).then(
        ({ DefaultAzureCredential }) => new DefaultAzureCredential(),
      )), PIPELINE);
  }
}

/**
 * The HTTP client the SDK's pipeline sends through (cached on the pipeline), wrapped in ours:
 *
 * - An answer not begun within core's `answerTimeoutMs` of the body's size and the option (a small answer's body
 *   read too) is given up as a RestError of code ETIMEDOUT, which the SDK's retry policy tries again
 *   as it would a timed-out socket. The SDK has no client-side bound of its own (its `tryTimeoutInMs`
 *   only asks the service to stop), so a request left unanswered held its caller forever. Not bounded:
 *   a copy from a URL (the service answers once it has copied) and a body of unknown size.
 * - `skipverify`: the SDK has no public TLS setting, but its client honours a per-request agent.
 */
function useBoundedHttpClient(service: BlobServiceClient, skipVerify: boolean, answerTimeout: number | undefined): void {
  const agent = skipVerify ? new Agent({ keepAlive: true, rejectUnauthorized: false }) : undefined;
  const inner = createDefaultHttpClient();
  // The requests given our timeout: the retry policy sends the same request object again.
  const bounded = new WeakSet<PipelineRequest>();
  const client: HttpClient = {
    sendRequest: async (request) => {
      // Only TLS has certificates to skip: a plain http:// endpoint keeps the SDK's own agent.
      if (agent !== undefined && request.url.startsWith('https:')) request.agent = agent;
      if (!bounded.has(request)) {
        const bodyBytes = knownBodyBytes(request.body, request.headers.get('content-length'));
        if (request.timeout > 0 || bodyBytes === undefined || request.headers.has('x-ms-copy-source')) return inner.sendRequest(request);
        request.timeout = answerTimeoutMs(bodyBytes, answerTimeout);
        bounded.add(request);
      }
      try {
        return await inner.sendRequest(request);
      } catch (error) {
        // The client's own timer aborts the request: an abort the caller's signal did not make.
        if ((error as Error | undefined)?.name !== 'AbortError' || request.abortSignal?.aborted) throw error;
        throw new RestError(`azure: no answer within ${request.timeout} ms`, { code: 'ETIMEDOUT', request });
      }
    },
  };
  (service as unknown as { pipeline: { _coreHttpClient?: HttpClient } }).pipeline._coreHttpClient = client;
}

