/** Recognising S3 errors by name and status (the SDK's classes differ between realms and versions). */
export function s3Status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function s3Code(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

/**
 * The object key is missing: NoSuchKey, or HEAD's body-less 404 (`NotFound`). A HEAD answers a
 * missing bucket with the same 404, so where a 404 of HEAD is the final answer the driver asks the
 * bucket first (see `S3Backend`'s `#headFile`). A missing bucket (NoSuchBucket) or upload
 * (NoSuchUpload) is a failure, not a missing path.
 */
export function isNotFound(error: unknown): boolean {
  const code = s3Code(error);
  return code === 'NoSuchKey' || (code === 'NotFound' && s3Status(error) === 404);
}

export function isNoSuchUpload(error: unknown): boolean {
  return s3Code(error) === 'NoSuchUpload';
}

/** ListParts of an upload that is gone: NoSuchUpload, or NoSuchKey from Ceph, which answers so for an aborted upload. */
export function isUploadGone(error: unknown): boolean {
  const code = s3Code(error);
  return code === 'NoSuchUpload' || code === 'NoSuchKey';
}

export function isInvalidRange(error: unknown): boolean {
  return s3Code(error) === 'InvalidRange' || s3Status(error) === 416;
}

export function isPreconditionFailed(error: unknown): boolean {
  return s3Code(error) === 'PreconditionFailed' || s3Status(error) === 412;
}

/** A code the SDK (or the direct path) makes up for an answer without a body; not the service's. */
function isMadeUpCode(code: string | undefined): boolean {
  return code === undefined || code === '' || code === 'Unknown' || code === 'UnknownError' || code === 'Error' || /^(HTTP ?)?\d+$/.test(code);
}

/** An error answer of the service without an error code of its own (HEAD's answers have no body). */
export function hasNoServiceCode(error: unknown): boolean {
  const code = s3Code(error);
  return s3Status(error) !== undefined && (isMadeUpCode(code) || code === 'NotFound');
}

/** The request an error answered: its operation (`GetObject`), bucket and key when it has one. */
export interface S3Request {
  operation: string;
  bucket: string | undefined;
  key?: string | undefined;
}

const DESCRIBED = Symbol('s3ErrorDescribed');

/**
 * Gives an S3 error answer a message naming the operation, the bucket, the key and the service's
 * code (or the HTTP status when the answer had no body), with the server's message when it sent
 * one: `GetObject of a/b in bucket reg: SignatureDoesNotMatch (HTTP 403)`. A missing bucket reads
 * `bucket reg does not exist (ListObjectsV2: NoSuchBucket, HTTP 404)`. The SDK's own message for
 * an answer without `<Message>` (Ceph sends none) is `UnknownError`, which says nothing. The error
 * is this request's own, so it is amended in place and keeps its class and name for the checks above.
 */
export function describeS3Error(error: unknown, request: S3Request): unknown {
  const status = s3Status(error);
  if (!(error instanceof Error) || status === undefined || DESCRIBED in error) return error;
  const name = s3Code(error);
  const code = isMadeUpCode(name) ? 'no error code' : name!;
  const server = error.message === '' || error.message === 'UnknownError' || error.message === name ? undefined : error.message;
  const what = request.key === undefined ? request.operation : `${request.operation} of ${request.key}`;
  const message =
    code === 'NoSuchBucket'
      ? `bucket ${request.bucket} does not exist (${what}: NoSuchBucket, HTTP ${status})`
      : `${what} in bucket ${request.bucket}: ${code} (HTTP ${status})${server === undefined ? '' : `: ${server}`}`;
  Object.defineProperty(error, 'message', { value: message, configurable: true, writable: true });
  Object.defineProperty(error, DESCRIBED, { value: true });
  return error;
}
