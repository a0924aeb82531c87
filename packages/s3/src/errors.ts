/** Recognising S3 errors by name and status (the SDK's classes differ between realms and versions). */
export function s3Status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload' || s3Status(error) === 404;
}

export function isInvalidRange(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'InvalidRange' || s3Status(error) === 416;
}
