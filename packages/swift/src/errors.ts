/**
 * A non-2xx answer of Swift or Keystone. `status` is what core's isTransientError reads (5xx, 408,
 * 429 are retried). An authentication failure is marked, so that no status of it (a catalog
 * without an endpoint, a 404 auth URL) is ever taken for a missing object.
 */
export class SwiftHttpError extends Error {
  override readonly name = 'SwiftHttpError';
  readonly status: number;
  readonly auth: boolean;

  constructor(status: number, message: string, options: { auth?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.status = status;
    this.auth = options.auth ?? false;
  }
}

/** The HTTP status of a failed object or container request (never of an authentication). */
export function swiftStatus(error: unknown): number | undefined {
  return error instanceof SwiftHttpError && !error.auth ? error.status : undefined;
}

export function isNotFound(error: unknown): boolean {
  return swiftStatus(error) === 404;
}
