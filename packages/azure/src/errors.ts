/** Recognising Azure errors by status and error code (RestError from the SDK). */
interface AzureError {
  statusCode?: number;
  code?: string;
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
