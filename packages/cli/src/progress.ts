/** A one-line progress bar on stderr, drawn only when stderr is a terminal (and never with --json). */

const WIDTH = 28;
const REDRAW_MS = 100;

export class Progress {
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #unit: 'bytes' | 'items';
  readonly #enabled: boolean;
  readonly #started = performance.now();
  #done = 0;
  #drawn = 0;
  #note = '';

  constructor(label: string, options: { total?: number; unit?: 'bytes' | 'items'; enabled: boolean }) {
    this.#label = label;
    this.#total = options.total;
    this.#unit = options.unit ?? 'bytes';
    this.#enabled = options.enabled && process.stderr.isTTY === true;
  }

  advance(amount: number, note?: string): void {
    this.#done += amount;
    if (note !== undefined) this.#note = note;
    if (this.#enabled && performance.now() - this.#drawn >= REDRAW_MS) this.#draw();
  }

  finish(): void {
    if (!this.#enabled) return;
    this.#draw();
    process.stderr.write('\n');
  }

  #draw(): void {
    this.#drawn = performance.now();
    const seconds = Math.max((this.#drawn - this.#started) / 1000, 0.001);
    const amount = (n: number) => (this.#unit === 'bytes' ? humanSize(n) : String(n));
    const rate = this.#unit === 'bytes' ? `${humanSize(Math.round(this.#done / seconds))}/s` : `${(this.#done / seconds).toFixed(1)}/s`;
    let bar = '';
    if (this.#total !== undefined && this.#total > 0) {
      const ratio = Math.min(this.#done / this.#total, 1);
      const filled = Math.round(ratio * WIDTH);
      bar = `[${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% `;
    }
    const total = this.#total === undefined ? '' : ` / ${amount(this.#total)}`;
    const line = `${this.#label} ${bar}${amount(this.#done)}${total} ${rate} ${this.#note}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 100) - 1).padEnd(Math.min(process.stderr.columns ?? 100, 100) - 1)}`);
  }
}

/** Bytes in the largest binary unit, one decimal: "1.5 GiB". */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
