/** Recognising S3 errors by name and status (the SDK's classes differ between realms and versions). */
export function s3Status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function s3Code(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

/**
 * The object key is missing: NoSuchKey, a body-less 404 of HEAD (`NotFound`), or a 404 with no
 * other code. A missing bucket (NoSuchBucket) or upload (NoSuchUpload) is a failure, not a
 * missing path.
 */
export function isNotFound(error: unknown): boolean {
  const code = s3Code(error);
  if (code === 'NoSuchKey' || code === 'NotFound') return true;
  return s3Status(error) === 404 && code !== 'NoSuchBucket' && code !== 'NoSuchUpload';
}

export function isNoSuchUpload(error: unknown): boolean {
  return s3Code(error) === 'NoSuchUpload';
}

export function isInvalidRange(error: unknown): boolean {
  return s3Code(error) === 'InvalidRange' || s3Status(error) === 416;
}

export function isPreconditionFailed(error: unknown): boolean {
  return s3Code(error) === 'PreconditionFailed' || s3Status(error) === 412;
}

/**
 * Gives an S3 error answer without a message of its own (the SDK then says `UnknownError`, or
 * nothing) one that names the S3 code and HTTP status, so the caller reads
 * `s3: NoSuchBucket (HTTP 404)`. The error is this request's own, so it is amended in place and
 * keeps its class for the checks above.
 */
export function describeS3Error(error: unknown): unknown {
  const status = s3Status(error);
  if (!(error instanceof Error) || status === undefined) return error;
  if (error.message === '' || error.message === 'UnknownError') {
    Object.defineProperty(error, 'message', { value: `${error.name} (HTTP ${status})`, configurable: true, writable: true });
  }
  return error;
}
