/** Recognising GCS errors by HTTP status (ApiError from the SDK). */
export function gcsStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(error: unknown): boolean {
  return gcsStatus(error) === 404;
}
