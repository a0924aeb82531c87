/** SIGINT and SIGTERM for commands that must clean up (put cancels its upload, get removes its partial file). */
import { InterruptedError } from './errors.js';

/**
 * Runs `work` with a signal that the first SIGINT or SIGTERM aborts, its reason an InterruptedError.
 * The handlers are removed at once, so a second Ctrl-C kills the process as usual.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const remove = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  function onSignal(name: NodeJS.Signals): void {
    remove();
    controller.abort(new InterruptedError(name));
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } finally {
    remove();
  }
}

/** The InterruptedError to report after cleaning up, when `signal` was aborted by a signal; else undefined. */
export function interruption(signal: AbortSignal, message: string): InterruptedError | undefined {
  return signal.reason instanceof InterruptedError ? new InterruptedError(signal.reason.signal, message) : undefined;
}
