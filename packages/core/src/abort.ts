/** Aborts that take effect at once, whatever the code behind a promise does with the signal. */

/**
 * Settles with `operation`, or rejects with the signal's reason as soon as it aborts, whatever the
 * backend does with the signal (some SDK calls ignore it). The operation's late outcome is dropped.
 */
export function untilAborted<T>(operation: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return operation;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    operation.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
