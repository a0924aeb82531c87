/**
 * Typed errors. Every error a driver surfaces is one of these classes, with a stable `code`,
 * the `driverName`, the `path` where one applies and the original error as `cause`.
 *
 * `instanceof` is answered by a brand and the stable code rather than by prototype identity, so an
 * error thrown by one copy of this package (for example the CommonJS build) is recognised by
 * another (the ESM build) in the same process.
 */

const BRAND = Symbol.for('@storagedriver/core:error');

/** The stable codes of StorageDriverError, one per class; `code` is safe to compare across package copies. */
export type ErrorCode =
  | 'PATH_NOT_FOUND'
  | 'INVALID_PATH'
  | 'INVALID_OFFSET'
  | 'UNSUPPORTED_METHOD'
  | 'INVALID_PARAMETER'
  | 'DRIVER_NOT_REGISTERED'
  | 'PRECONDITION_FAILED'
  | 'DRIVER_ERROR';

/** What every error constructor accepts besides its own arguments. */
export interface ErrorDetails {
  /** The driver that raised the error; the base fills it in when left out. */
  driverName?: string;
  /** The path the operation was on. */
  path?: string;
  /** The underlying error (an SDK's, a system call's), kept as `cause`. */
  cause?: unknown;
  /** The failure is transient (a cut connection, a 5xx, a throttle): the same call may succeed later. */
  retryable?: boolean;
}

/** The base class of every error a driver surfaces. `instanceof` works across the ESM and CommonJS builds (matched on `code`). */
export abstract class StorageDriverError extends Error {
  /** The stable code of this class of error; each concrete class declares its own. */
  static readonly errorCode: ErrorCode | undefined = undefined;

  /** The stable code of this error's class. */
  abstract readonly code: ErrorCode;
  /** Filled in by the base wrapper when the driver that raised the error did not. */
  driverName: string;
  /** The path the operation was on, when one applies. */
  readonly path: string | undefined;
  /**
   * True for a transport failure or a transient service answer (reset, timeout, 5xx, throttling)
   * that survived the driver's own retries: the same call may succeed later. False for a permanent
   * answer (not found, invalid input, refused credentials).
   */
  readonly retryable: boolean;

  constructor(details: ErrorDetails = {}) {
    super(undefined, details.cause === undefined ? undefined : { cause: details.cause });
    this.driverName = details.driverName ?? '';
    this.path = details.path;
    this.retryable = details.retryable ?? false;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** The message is derived from the fields, so it stays right once the base wrapper names the driver. */
  protected abstract describe(): string;

  /** `"<driver>: <what happened>"`, derived from the fields (upstream's wording). */
  override get message(): string {
    return this.describe();
  }

  /** The class name, e.g. `PathNotFoundError`. */
  override get name(): string {
    return this.constructor.name;
  }

  /** The fields as a plain object, for logs: code, driver, path, retryable, message. */
  toJSON(): Record<string, unknown> {
    return { code: this.code, driver: this.driverName, path: this.path, retryable: this.retryable, message: this.message };
  }

  /** True for an instance of this class, also one made by another copy of this package (matched on `code`). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[BRAND] !== true) {
      return false;
    }
    // A branded error from another copy of this package: match on the stable code. Subclasses made
    // outside core declare no code of their own and fall back to prototype identity above.
    if (this === StorageDriverError) return true;
    if (!Object.hasOwn(this, 'errorCode')) return false;
    return (value as { code?: unknown }).code === (this as unknown as { errorCode: ErrorCode }).errorCode;
  }
}

function prefix(driverName: string): string {
  return driverName === '' ? '' : `${driverName}: `;
}

/** Nothing is at the path: no file, and for operations that accept one, no directory. */
export class PathNotFoundError extends StorageDriverError {
  static override readonly errorCode = 'PATH_NOT_FOUND';
  readonly code = 'PATH_NOT_FOUND';
  declare readonly path: string;

  constructor(path: string, details: Omit<ErrorDetails, 'path'> = {}) {
    super({ ...details, path });
  }

  protected describe(): string {
    return `${prefix(this.driverName)}Path not found: ${this.path}`;
  }
}

/** The path does not match the path grammar (see `validatePath`), or the operation does not accept `/`. */
export class InvalidPathError extends StorageDriverError {
  static override readonly errorCode = 'INVALID_PATH';
  readonly code = 'INVALID_PATH';
  declare readonly path: string;
  /** Why the path was rejected, for people; the message keeps upstream's wording first. */
  readonly reason: string | undefined;

  constructor(path: string, details: Omit<ErrorDetails, 'path'> & { reason?: string } = {}) {
    super({ ...details, path });
    this.reason = details.reason;
  }

  protected describe(): string {
    const shown = typeof this.path === 'string' ? this.path : String(this.path);
    return `${prefix(this.driverName)}invalid path: ${shown}${this.reason ? ` (${this.reason})` : ''}`;
  }
}

/** A read offset is negative, or it (or `offset + length`) is beyond the end of the object. */
export class InvalidOffsetError extends StorageDriverError {
  static override readonly errorCode = 'INVALID_OFFSET';
  readonly code = 'INVALID_OFFSET';
  declare readonly path: string;
  /** The offending offset, in bytes (for a ranged read, `offset + length`). */
  readonly offset: number;

  constructor(path: string, offset: number, details: Omit<ErrorDetails, 'path'> = {}) {
    super({ ...details, path });
    this.offset = offset;
  }

  protected describe(): string {
    return `${prefix(this.driverName)}invalid offset: ${this.offset} for path: ${this.path}`;
  }
}

/** The driver does not support this call (or this option), per its `capabilities`. */
export class UnsupportedMethodError extends StorageDriverError {
  static override readonly errorCode = 'UNSUPPORTED_METHOD';
  readonly code = 'UNSUPPORTED_METHOD';
  /** The operation, or the operation and option, that is not supported. */
  readonly method: string;

  constructor(method: string, details: ErrorDetails = {}) {
    super(details);
    this.method = method;
  }

  protected describe(): string {
    return `${prefix(this.driverName)}unsupported method: ${this.method}`;
  }
}

/** A driver parameter or an option has a value that is not accepted: the error names it, the value and what is accepted. */
export class InvalidParameterError extends StorageDriverError {
  static override readonly errorCode = 'INVALID_PARAMETER';
  readonly code = 'INVALID_PARAMETER';
  /** The parameter's or option's name. */
  readonly parameter: string;
  /** The value given. */
  readonly value: unknown;
  /** What would have been accepted, in words: "an integer from 25", "one of: a, b". */
  readonly accepted: string;

  /** `value` is kept and shown with secrets hidden (see isSecretName): errors get logged whole. */
  constructor(parameter: string, value: unknown, accepted: string, details: ErrorDetails = {}) {
    super(details);
    this.parameter = parameter;
    this.value = concealed(parameter, value, 0);
    this.accepted = accepted;
  }

  protected describe(): string {
    return `${prefix(this.driverName)}invalid parameter "${this.parameter}": got ${showValue(this.value)}, expected ${this.accepted}`;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), parameter: this.parameter, accepted: this.accepted };
  }
}

/** `create` was asked for a driver name nobody registered (import the driver package first). */
export class DriverNotRegisteredError extends StorageDriverError {
  static override readonly errorCode = 'DRIVER_NOT_REGISTERED';
  readonly code = 'DRIVER_NOT_REGISTERED';
  /** The driver name asked for. */
  readonly requested: string;
  /** The names registered at the time. */
  readonly registered: readonly string[];

  constructor(requested: string, registered: readonly string[]) {
    super({ driverName: requested });
    this.requested = requested;
    this.registered = registered;
  }

  protected describe(): string {
    const known = this.registered.length === 0 ? 'none (import a driver package to register it)' : this.registered.join(', ');
    return `StorageDriver not registered: ${this.requested} (registered: ${known})`;
  }
}

/**
 * A condition the operation depended on no longer holds: the object a reader was resuming changed
 * (another version replaced it mid-read), or a write's `ifNoneMatch` / `ifMatch` condition did not hold.
 */
export class PreconditionFailedError extends StorageDriverError {
  static override readonly errorCode = 'PRECONDITION_FAILED';
  readonly code = 'PRECONDITION_FAILED';
  declare readonly path: string;
  /** What did not hold, for people. */
  readonly detail: string;

  constructor(path: string, detail: string, details: Omit<ErrorDetails, 'path'> = {}) {
    super({ ...details, path });
    this.detail = detail;
  }

  protected describe(): string {
    return `${prefix(this.driverName)}precondition failed: ${this.path}: ${this.detail}`;
  }
}

/** The catch-all: anything else that went wrong, with the backend's error as `cause`. */
export class DriverError extends StorageDriverError {
  static override readonly errorCode = 'DRIVER_ERROR';
  readonly code = 'DRIVER_ERROR';
  /** The message, never empty. */
  readonly detail: string;

  constructor(detail: string, details: ErrorDetails = {}) {
    super(details);
    this.detail = detail;
  }

  protected describe(): string {
    return `${prefix(this.driverName)}${this.detail}`;
  }
}

/** Stands for a secret in an error's value and message. */
const HIDDEN = '***';

/**
 * True for a parameter, option or field name whose value is a secret: a key, password, token,
 * signature or credentials (`secretkey`, `accountKey`, `client_secret`, `private_key`, `key`, …),
 * matched without case or separators. InvalidParameterError hides such values.
 */
export function isSecretName(name: string): boolean {
  const plain = name.replace(/[-_.\s]/g, '').toLowerCase();
  return plain === 'key' || /secret|password|passphrase|token|credential|connectionstring|signature|privatekey|accountkey|containerkey|apikey/.test(plain);
}

/** `value` with every secret in it hidden: all of it under a secret `name`, else the secret fields of a plain object or array, to a few levels. */
function concealed(name: string, value: unknown, depth: number): unknown {
  const secret = isSecretName(name);
  if (value === undefined || value === null || value === '') return value;
  if (typeof value !== 'object') return secret ? HIDDEN : value;
  const plain = Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null;
  if (!plain || depth > 4) return secret ? HIDDEN : value;
  let changed = false;
  const conceal = (field: string, item: unknown): unknown => {
    const hidden = concealed(field, item, depth + 1);
    changed ||= hidden !== item;
    return hidden;
  };
  const copy = Array.isArray(value) ? value.map((item) => conceal(name, item)) : Object.fromEntries(Object.entries(value).map(([field, item]) => [field, conceal(field, item)]));
  return changed ? copy : value;
}

function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * True when `error` is the caller's own abort: only when the caller's signal is aborted. SDKs name
 * transport failures `AbortError` or `TimeoutError` too (a reset socket, a server timeout), so the
 * name of an error proves nothing on its own.
 */
export function isAbortError(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (error === signal.reason || errorName(error) === 'AbortError' || errorName(error) === 'TimeoutError');
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_MESSAGE = /socket hang up|premature close|ECONNRESET|EPIPE|other side closed|network error|request aborted|terminated/i;

/**
 * True for a failure worth retrying: a transport error (reset, refused, timed out, cut body) or a
 * transient HTTP status (408, 429, 5xx), found on the error or anywhere along its `cause` chain.
 * Knows the shapes of Node's, undici's and the AWS, Azure and Google SDKs' errors.
 */
export function isTransientError(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 8; depth++) {
    const e = current as { code?: unknown; status?: unknown; statusCode?: unknown; $metadata?: { httpStatusCode?: unknown }; $retryable?: unknown; message?: unknown; name?: unknown; cause?: unknown };
    if (current instanceof StorageDriverError) return current.retryable;
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    if (e.$retryable !== undefined && e.$retryable !== null) return true;
    for (const status of [e.$metadata?.httpStatusCode, e.statusCode, e.status, e.code]) {
      if (typeof status === 'number' && TRANSIENT_STATUS.has(status)) return true;
    }
    // Named like an abort but not the caller's (callers check their signal first): a cut connection.
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message))) return true;
    current = e.cause;
  }
  return false;
}

function errorName(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
}
