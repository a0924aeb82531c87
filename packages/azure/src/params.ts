/** Upstream's azure parameters (upstream-model.md §7.4) plus block size and upload concurrency, parsed strictly. */
import type { ContainerClient } from '@azure/storage-blob';
import { DEFAULT_ANSWER_TIMEOUT_MS, InvalidParameterError, ParameterReader, checkOptions, millisecondsOption, type AnswerTimeoutOption, type DriverParameters } from '@storagedriver/core';

const MiB = 1024 * 1024;
/** Azure's largest block (service version 2019-12-12 and later). */
const MAX_BLOCK_SIZE = 4000 * MiB;
const CREDENTIAL_TYPES = ['shared_key', 'client_secret', 'default_credentials'] as const;

/** How the driver authenticates to the storage account (upstream's `credentials` parameter). */
export type AzureCredentials =
  | {
      /** The account's shared key. */
      type: 'shared_key';
      /** The account key, base64 as the portal shows it. */
      accountKey: string;
    }
  | {
      /** A Microsoft Entra ID service principal with a client secret. */
      type: 'client_secret';
      /** The directory (tenant) id. */
      tenantId: string;
      /** The application (client) id. */
      clientId: string;
      /** The client secret. */
      secret: string;
    }
  | {
      /** The Azure Identity default credential chain (environment, managed identity, CLI, …). */
      type: 'default_credentials';
    };

/** The Azure driver's options, as `parseAzureParameters` makes them from upstream's parameters (given to `new AzureDriver`). */
export interface AzureOptions extends AnswerTimeoutOption {
  /** The blob container; required. */
  container: string;
  /** The storage account; required unless `connectionString` or `client` is set. */
  accountName?: string;
  /** How to authenticate; ignored with `connectionString` or `client`. */
  credentials?: AzureCredentials;
  /** A storage connection string (account key or SAS); takes the place of accountname, credentials and serviceurl. */
  connectionString?: string;
  /** Default `https://<accountName>.blob.core.windows.net` (from parameters: `https://<accountname>.blob.<realm>`). */
  serviceUrl?: string;
  /** A blob name prefix every path lives under; empty (the default) for the container's root. */
  rootDirectory?: string;
  /** Polls of a pending server-side copy before `move` gives up (upstream's `max_retries`). Default 5. */
  maxRetries?: number;
  /** Delay before the n-th copy poll is n × this (upstream's `retry_delay`). Default 100 ms. */
  retryDelayMs?: number;
  /** Accept any TLS certificate from the service (test servers only). */
  skipVerify?: boolean;
  /** Bytes per staged block; memory per writer is blockSize × (uploadConcurrency + 1). Default 4 MiB. */
  blockSize?: number;
  /** Blocks uploading at once per writer. Default 4. */
  uploadConcurrency?: number;
  /** Use this container client instead of building one (endpoint, credentials and retries are then yours). */
  client?: ContainerClient;
}

export const PARAMETER_NAMES = [
  'accountname', 'accountkey', 'container', 'credentials', 'connectionstring', 'realm', 'rootdirectory', 'serviceurl',
  'max_retries', 'retry_delay', 'skipverify', 'blocksize', 'uploadconcurrency', 'answertimeout',
] as const;

/** The account's blob endpoint when no `serviceUrl` is given. */
export function defaultServiceUrl(accountName: string, realm = 'core.windows.net'): string {
  return `https://${accountName}.blob.${realm}`;
}

/**
 * AzureOptions from upstream's `azure` parameters (lower-case names), with upstream's defaults (`realm` core.windows.net).
 * Throws InvalidParameterError for an unknown name or an unaccepted value (e.g. no `container`, or neither `accountname` nor `connectionstring`).
 */
export function parseAzureParameters(params: DriverParameters | undefined, driverName = 'azure'): AzureOptions {
  const p = new ParameterReader(driverName, params, PARAMETER_NAMES);
  const container = p.requiredString('container');
  const connectionString = p.string('connectionstring', '');
  const accountName = p.string('accountname', '');
  if (accountName === '' && connectionString === '') throw p.invalid('accountname', 'an account name (required unless connectionstring is set)');
  const realm = p.string('realm', 'core.windows.net');
  // Azurite's service URL names the account in its path.
  const serviceUrl = p.endpoint('serviceurl', { allowPath: true }) ?? (accountName === '' ? undefined : defaultServiceUrl(accountName, realm));
  if (connectionString !== '') checkConnectionString(p, connectionString, driverName);
  // Upstream treats -1 as "abort when the copy is still pending"; 0 means the default.
  const maxRetries = p.integer('max_retries', 5, { min: -1 });
  return {
    container,
    accountName: accountName || undefined,
    credentials: connectionString === '' ? parseCredentials(p) : undefined,
    connectionString: connectionString || undefined,
    serviceUrl,
    rootDirectory: p.string('rootdirectory', ''),
    maxRetries: maxRetries === 0 ? 5 : maxRetries,
    retryDelayMs: p.duration('retry_delay', 100, { min: 0 }),
    skipVerify: p.boolean('skipverify', false),
    blockSize: p.size('blocksize', 4 * MiB, { min: 1, max: MAX_BLOCK_SIZE }),
    uploadConcurrency: p.integer('uploadconcurrency', 4, { min: 1, max: 256 }),
    answerTimeoutMs: p.duration('answertimeout', DEFAULT_ANSWER_TIMEOUT_MS, { min: 1 }),
  };
}

/**
 * Upstream requires `credentials.type`; a configuration with only `accountkey` (the older form)
 * means a shared key here, and one with neither uses the default credential chain.
 */
function parseCredentials(p: ParameterReader): AzureCredentials {
  const accountKey = p.string('accountkey', '');
  const map = p.map('credentials');
  if (map === undefined) return accountKey === '' ? { type: 'default_credentials' } : { type: 'shared_key', accountKey };
  const type = map.type;
  const accepted = `a mapping with type ${CREDENTIAL_TYPES.join(', ')}`;
  if (typeof type !== 'string' || !(CREDENTIAL_TYPES as readonly string[]).includes(type)) throw p.invalid('credentials', accepted);
  if (type === 'shared_key') {
    if (accountKey === '') throw p.invalid('accountkey', 'the account key (required by credentials type shared_key)');
    return { type, accountKey };
  }
  if (type === 'default_credentials') return { type };
  const field = (name: string): string => {
    const value = map[name];
    if (typeof value !== 'string' || value === '') throw p.invalid('credentials', `a mapping with a non-empty ${name} for type client_secret`);
    return value;
  };
  return { type: 'client_secret', tenantId: field('tenantid'), clientId: field('clientid'), secret: field('secret') };
}

const CONNECTION_STRING = 'a storage connection string: Key=Value pairs separated by ";", with DefaultEndpointsProtocol, AccountName, AccountKey and BlobEndpoint or EndpointSuffix, or with BlobEndpoint and SharedAccessSignature';

/**
 * The connection string, read the way the SDK reads it, so that a malformed one fails at creation
 * (the SDK would throw a TypeError at first use). The string is a secret, so errors hide it (core's
 * InvalidParameterError); one with a bad endpoint names the endpoint.
 */
function checkConnectionString(p: ParameterReader, text: string, driverName: string): void {
  if (text.startsWith('UseDevelopmentStorage=true')) return;
  const fields = new Map<string, string>();
  for (const pair of text.split(';').map((part) => part.trim()).filter((part) => part !== '')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(pair);
    if (match === null) throw p.invalid('connectionstring', CONNECTION_STRING);
    fields.set(match[1]!, match[2]!);
  }
  const get = (name: string): string => fields.get(name) ?? '';
  // The SDK's rule: with a protocol and a key it is an account connection string, else a SAS one.
  const account = fields.has('DefaultEndpointsProtocol') && fields.has('AccountKey');
  let endpoint = get('BlobEndpoint');
  if (account && (get('AccountName') === '' || get('AccountKey') === '')) throw p.invalid('connectionstring', CONNECTION_STRING);
  if (!account && (endpoint === '' || get('SharedAccessSignature') === '')) throw p.invalid('connectionstring', CONNECTION_STRING);
  if (endpoint === '') {
    const protocol = get('DefaultEndpointsProtocol').toLowerCase();
    if ((protocol !== 'http' && protocol !== 'https') || get('EndpointSuffix') === '') throw p.invalid('connectionstring', CONNECTION_STRING);
    endpoint = `${protocol}://${get('AccountName')}.blob.${get('EndpointSuffix')}`;
  }
  try {
    new ParameterReader(driverName, { connectionstring: endpoint }, ['connectionstring']).endpoint('connectionstring', { allowPath: true });
  } catch (error) {
    if (!(error instanceof InvalidParameterError)) throw error;
    throw p.invalid('connectionstring', `a connection string whose blob endpoint (${endpoint}) is ${error.accepted}`);
  }
}

/** `new AzureDriver`'s options checked as the factory checks parameters: InvalidParameterError at construction, naming the option. */
export function checkAzureOptions(options: AzureOptions): AzureOptions {
  return checkOptions('azure', options, {
    container: 'container', accountName: 'accountname', connectionString: 'connectionstring', serviceUrl: 'serviceurl',
    rootDirectory: 'rootdirectory', maxRetries: 'max_retries', skipVerify: 'skipverify', blockSize: 'blocksize',
    uploadConcurrency: 'uploadconcurrency', client: null,
    retryDelayMs: millisecondsOption('retry_delay'),
    answerTimeoutMs: millisecondsOption('answertimeout'),
    // The parameter's form: a mapping with lower-case field names, the shared key beside it.
    credentials: { parameter: 'credentials', value: (c) => (typeof c === 'object' && c !== null ? Object.fromEntries(Object.entries(c).map(([k, v]) => [k.toLowerCase(), v])) : c) },
  }, ({ credentials, ...parameters }) => {
    const accountKey = (credentials as Record<string, unknown> | undefined)?.accountkey;
    // A caller's client names the account itself.
    const account = options.client !== undefined && parameters.accountname === undefined && parameters.connectionstring === undefined ? { accountname: 'of-the-client' } : {};
    return parseAzureParameters({ ...parameters, ...account, ...(credentials === undefined ? {} : { credentials }), ...(accountKey === undefined ? {} : { accountkey: accountKey }) });
  });
}
