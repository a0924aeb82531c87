/** Builds the S3Client from options, with an HTTP handler tuned for many small requests. */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';

import { CopyObjectCommand, GetObjectCommand, S3Client, UploadPartCopyCommand, type $Command, type S3ClientConfig, type S3ClientResolvedConfig, type ServiceInputTypes, type ServiceOutputTypes } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DeserializeMiddleware } from '@smithy/types';
import { answerTimeoutMs, knownBodyBytes, readResponse } from '@storagedriver/core';

import { describeS3Error } from './errors.js';
import type { S3Options } from './params.js';

/** Sends one SDK command with the caller's signal (so an abort stops the I/O); an S3 error's message names the operation, bucket, key and code. */
export type Send = <I extends ServiceInputTypes, O extends ServiceOutputTypes>(
  command: $Command<I, O, S3ClientResolvedConfig, ServiceInputTypes, ServiceOutputTypes>,
  signal?: AbortSignal,
) => Promise<O>;

/**
 * `bounded` (a client of ours, whose handler throws on its request timeout): each command but a copy
 * gets core's bound on its answer's start (`answerTimeoutMs` of its body's size, from the option's
 * base), and the answer's body, but a read's, is read whole under core's bound on a body that stops
 * (`readResponse`): each a TimeoutError the SDK retries as it would a timed-out socket. The SDK has
 * neither by default, so a request left unanswered, or an answer stopped after its status line (a
 * CompleteMultipartUpload's, a DeleteObjects'), held its caller forever.
 */
export function sender(client: S3Client, bounded: boolean, answerTimeout?: number): Send {
  return async (command, signal) => {
    try {
      const requestTimeout = bounded ? answerBound(command.input as CommandInput, command, answerTimeout) : undefined;
      if (requestTimeout !== undefined && !(command instanceof GetObjectCommand)) {
        command.middlewareStack.add(readBodyWithin(answerTimeoutMs(0, answerTimeout)), BODY_BOUND);
      }
      return await client.send(command, { abortSignal: signal, requestTimeout });
    } catch (error) {
      const input = command.input as { Bucket?: string; Key?: string };
      throw describeS3Error(error, { operation: command.constructor.name.replace(/Command$/, ''), bucket: input.Bucket, key: input.Key });
    }
  };
}

type CommandInput = { Body?: unknown; ContentLength?: number };

/** None for a server-side copy (answered once the service has copied) or a body of unknown size. */
function answerBound(input: CommandInput, command: object, baseMs: number | undefined): number | undefined {
  if (command instanceof CopyObjectCommand || command instanceof UploadPartCopyCommand) return undefined;
  const bodyBytes = knownBodyBytes(input.Body, input.ContentLength);
  return bodyBytes === undefined ? undefined : answerTimeoutMs(bodyBytes, baseMs);
}

/** Innermost of the deserialize step: the body is read before the SDK's own readers (its deserializers, its check of a 200's body for an error) see it. */
const BODY_BOUND = { step: 'deserialize', priority: 'low', name: 'storagedriverBodyBound', override: true } as const;

/** The answer's body read whole under core's stall bound, handed on as bytes (which the SDK's body collector takes as they are). */
function readBodyWithin<I extends object, O extends object>(stallMs: number): DeserializeMiddleware<I, O> {
  return (next) => async (args) => {
    const result = await next(args);
    const response = result.response as { body?: unknown };
    if (response.body instanceof Readable) response.body = await readResponse(response.body, stallMs);
    return result;
  };
}

/** `regionEndpoint` as a URL, with the scheme `secure` implies when it was given without one. */
export function endpointUrl(options: S3Options): string | undefined {
  const endpoint = options.regionEndpoint;
  if (endpoint === undefined) return undefined;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `${options.secure === false ? 'http' : 'https'}://${endpoint}`;
}

/** The SDK client's keep-alive agents (the direct path has core's HttpClient). */
interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
}

function createAgents(options: S3Options): Agents {
  // Keep-alive sockets, enough of them for the driver's concurrency: a new TCP (or TLS) connection per
  // request costs more than a small PUT or GET itself.
  const sockets = Math.max(options.maxConcurrency ?? 128, 16);
  const agentOptions = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' as const, ...(options.lookup === undefined ? {} : { lookup: options.lookup }) };
  return { http: new HttpAgent(agentOptions), https: new HttpsAgent({ ...agentOptions, rejectUnauthorized: !options.skipVerify }) };
}

/** How long a new connection may take to be established (the SDK handler's `connectionTimeout`, and the direct path's). */
export const CONNECTION_TIMEOUT_MS = 10_000;

export function createClient(options: S3Options): S3Client {
  if (options.client !== undefined) return options.client;
  const agents = createAgents(options);
  const endpoint = endpointUrl(options);
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
    requestHandler: new NodeHttpHandler({ httpAgent: agents.http, httpsAgent: agents.https, connectionTimeout: CONNECTION_TIMEOUT_MS, throwOnRequestTimeout: true }),
  };
  if (options.accessKey && options.secretKey) {
    config.credentials = { accessKeyId: options.accessKey, secretAccessKey: options.secretKey, sessionToken: options.sessionToken || undefined };
  }
  return new S3Client(config);
}
