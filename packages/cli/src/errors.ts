/**
 * The CLI's own errors and how any error is reported: one line (or one JSON document), and the exit
 * status. Exit statuses: 0 done (also when stdout's reader went away), 1 an operation or a check
 * failed (an UnsupportedMethodError too: the driver cannot do it), 2 bad usage or configuration,
 * 128 + the signal's number when interrupted (130 for Ctrl-C).
 */
import { constants } from 'node:os';

import { InvalidParameterError } from '@storagedriver/core';

/** A mistake in the command line or the configuration (exit 2); `showUsage`: the command's usage follows the message. */
export class UsageError extends Error {
  readonly showUsage: boolean;

  constructor(message: string, options: { showUsage?: boolean } = {}) {
    super(message);
    this.showUsage = options.showUsage === true;
  }
}

/** The command stopped on SIGINT or SIGTERM, after cleaning up (exit 128 + the signal's number). */
export class InterruptedError extends Error {
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals, message = 'interrupted') {
    super(message);
    this.signal = signal;
  }

  get exitCode(): number {
    return 128 + constants.signals[this.signal];
  }
}

/** A local file could not be read or written; `code` is the system's (ENOENT, EEXIST, …). */
export class LocalFileError extends Error {
  readonly code: string;

  constructor(file: string, cause: unknown, reason?: string) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'LOCAL_FILE';
    super(`${file}: ${reason ?? REASONS[code] ?? (cause as Error).message}`, { cause });
    this.code = code;
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'already exists (use --force to overwrite it)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
};

export interface ErrorReport {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export function describeError(error: unknown): ErrorReport {
  if (error instanceof InvalidParameterError) {
    return { code: error.code, message: error.message, details: { parameter: error.parameter, value: error.value, accepted: error.accepted } };
  }
  if (error instanceof UsageError) return { code: 'USAGE', message: error.message };
  if (error instanceof InterruptedError) return { code: 'INTERRUPTED', message: error.message, details: { signal: error.signal } };
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // One line, whatever the library or the system said.
  return { code: typeof code === 'string' ? code : 'ERROR', message: message.split('\n')[0]!.trim() || (error as Error).name || 'unknown error' };
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof InterruptedError) return error.exitCode;
  return error instanceof UsageError || error instanceof InvalidParameterError ? 2 : 1;
}
