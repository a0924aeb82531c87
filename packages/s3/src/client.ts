/** Builds the S3Client from options, with an HTTP handler tuned for many small requests. */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import type { S3Options } from './params.js';

export function createClient(options: S3Options): S3Client {
  if (options.client !== undefined) return options.client;
  // Keep-alive sockets, enough of them for the driver's concurrency: a new TCP (or TLS) connection per
  // request costs more than a small PUT or GET itself.
  const sockets = Math.max(options.maxConcurrency ?? 128, 16);
  const agentOptions = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' as const };
  let endpoint = options.regionEndpoint;
  if (endpoint !== undefined && !/^[a-z]+:\/\//i.test(endpoint)) endpoint = `${options.secure === false ? 'http' : 'https'}://${endpoint}`;
  const config: S3ClientConfig = {
    region: options.region ?? 'us-east-1',
    endpoint,
    forcePathStyle: options.forcePathStyle,
    useDualstackEndpoint: options.useDualStack,
    useAccelerateEndpoint: options.accelerate,
    useFipsEndpoint: options.useFipsEndpoint,
    requestChecksumCalculation: options.requestChecksums ?? (endpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED'),
    responseChecksumValidation: options.requestChecksums ?? (endpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED'),
    customUserAgent: options.userAgent || undefined,
    maxAttempts: 5,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent({ ...agentOptions, rejectUnauthorized: !options.skipVerify }),
      connectionTimeout: 10_000,
    }),
  };
  if (options.accessKey && options.secretKey) {
    config.credentials = { accessKeyId: options.accessKey, secretAccessKey: options.secretKey, sessionToken: options.sessionToken || undefined };
  }
  return new S3Client(config);
}
