/**
 * How a command reports: human text, or one JSON document per command with --json, on stdout.
 *
 * A reader that goes away (`storagedriver tree | head`) is not an error: stdout's EPIPE marks the
 * output closed, commands stop producing, and the command ends quietly with success, like other
 * Unix tools. Any other stdout failure (a full disk) is reported once the command ends.
 */
import { Progress, type ProgressOptions } from './progress.js';

const stdout = { watched: false, closed: false, failure: undefined as Error | undefined };

function watchStdout(): void {
  if (stdout.watched) return;
  stdout.watched = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stdout.closed = true;
    else stdout.failure ??= error;
  });
  // Nowhere is left to report a failing stderr (`2>&1 | head`): its errors are dropped.
  process.stderr.on('error', () => undefined);
}

export class Output {
  readonly json: boolean;

  constructor(json: boolean) {
    this.json = json;
    watchStdout();
  }

  /** Stdout's reader went away: stop producing output. */
  get closed(): boolean {
    return stdout.closed;
  }

  /** A stdout failure other than a closed pipe, once seen. */
  get failure(): Error | undefined {
    return stdout.failure;
  }

  /** Writes to stdout unless it is closed; false once it is. */
  write(text: string): boolean {
    if (!stdout.closed) process.stdout.write(text);
    return !stdout.closed;
  }

  /** Prints the human text, or the JSON value, on stdout. */
  result(human: string | undefined, value: unknown): void {
    if (this.json) this.write(`${JSON.stringify(value)}\n`);
    else if (human !== undefined && human !== '') this.write(human.endsWith('\n') ? human : `${human}\n`);
  }

  /** Waits until everything written reached stdout or failed, so `closed` and `failure` are final. */
  async settle(): Promise<void> {
    if (stdout.closed || process.stdout.destroyed) return;
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    // The error event of a failed write comes a tick after its callback.
    await new Promise((resolve) => setImmediate(resolve));
  }

  progress(label: string, options: Omit<ProgressOptions, 'enabled'> & { enabled?: boolean } = {}): Progress {
    return new Progress(label, { ...options, enabled: !this.json && options.enabled !== false });
  }
}
