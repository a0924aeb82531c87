/** How a command reports: human text, or one JSON document per command with --json. */
import { Progress } from './progress.js';

export class Output {
  readonly json: boolean;

  constructor(json: boolean) {
    this.json = json;
  }

  /** Prints the human text, or the JSON value, on stdout. */
  result(human: string | undefined, value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value)}\n`);
    else if (human !== undefined && human !== '') process.stdout.write(human.endsWith('\n') ? human : `${human}\n`);
  }

  progress(label: string, options: { total?: number; unit?: 'bytes' | 'items' } = {}): Progress {
    return new Progress(label, { ...options, enabled: !this.json });
  }
}
