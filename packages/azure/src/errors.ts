/** Recognising Azure errors by status and error code (RestError from the SDK). */
import { isRestError } from '@azure/core-rest-pipeline';
import { isTransientError } from '@storagedriver/core';

import { AzureResponseError } from './direct.js';

interface AzureError {
  statusCode?: number;
  code?: string;
  message?: string;
  details?: { errorCode?: string };
}

export function errorCode(error: unknown): string | undefined {
  const e = error as AzureError | undefined;
  return e?.details?.errorCode ?? e?.code;
}

export function statusCode(error: unknown): number | undefined {
  return (error as AzureError | undefined)?.statusCode;
}

export function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return statusCode(error) === 404 || code === 'BlobNotFound' || code === 'ContainerNotFound' || code === 'ResourceNotFound';
}

export function isInvalidRange(error: unknown): boolean {
  return statusCode(error) === 416 || errorCode(error) === 'InvalidRange';
}

/** A conditional request lost a race (the blob changed or appeared in between). */
export function isConditionFailed(error: unknown): boolean {
  const status = statusCode(error);
  return status === 412 || status === 409;
}

/** A write's own condition did not hold: If-Match saw another ETag (or no blob), If-None-Match: * saw a blob. */
export function isPreconditionFailure(error: unknown): boolean {
  const code = errorCode(error);
  return statusCode(error) === 412 || code === 'ConditionNotMet' || code === 'BlobAlreadyExists';
}

/** A conditional read (If-Match) found another version of the blob. */
export function isConditionNotMet(error: unknown): boolean {
  return statusCode(error) === 412 || errorCode(error) === 'ConditionNotMet';
}

/**
 * A response cut after its headers: the SDK reads the body as text and reports the cut as a parse
 * error, a shape core's isTransientError does not know (and the SDK's retry policy does not retry).
 */
export function isCutResponse(error: unknown): boolean {
  const message = (error as AzureError | undefined)?.message ?? '';
  return errorCode(error) === 'PARSE_ERROR' && /reading response as text: (aborted|socket hang up|premature close|ECONNRESET)/i.test(message);
}

export function isTransportError(error: unknown): boolean {
  return isTransientError(error) || isCutResponse(error);
}

/** What @azure/storage-common's retry policy retries by itself (its `retriableErrors`, and 500/503). */
const SDK_RETRIED = ['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ENOTFOUND', 'TIMEOUT', 'EPIPE', 'REQUEST_SEND_ERROR'];

/**
 * True when the SDK's retry policy already spent its tries on this failure. An answer of the direct
 * path (src/direct.ts) is shaped like the SDK's RestError but never went through that policy.
 */
export function retriedBySdk(error: unknown): boolean {
  if (!isRestError(error) || error instanceof AzureResponseError) return false;
  if (error.statusCode === 500 || error.statusCode === 503) return true;
  const text = `${error.name} ${error.message} ${error.code ?? ''}`.toUpperCase();
  return SDK_RETRIED.some((code) => text.includes(code));
}
