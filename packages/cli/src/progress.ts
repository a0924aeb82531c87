/**
 * A one-line progress display on stderr: amount done, rate and, with a known total, a bar, the
 * percentage and the time left. Drawn only when stderr is a terminal (never on a pipe, never with
 * --json); in colour unless NO_COLOR is set (https://no-color.org) or TERM is dumb.
 */

const REDRAW_MS = 100;

/** Where the line is drawn: process.stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  total?: number;
  unit?: 'bytes' | 'items';
  enabled: boolean;
  stream?: ProgressStream;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds, for the rate and the time left (tests pass a fake clock). */
  now?: () => number;
}

const SGR = { green: ['\x1b[32m', '\x1b[39m'], dim: ['\x1b[2m', '\x1b[22m'], red: ['\x1b[31m', '\x1b[39m'] } as const;
type Segment = [text: string, style?: keyof typeof SGR];

export class Progress {
  readonly #label: string;
  readonly #total: number | undefined;
  readonly #unit: 'bytes' | 'items';
  readonly #stream: ProgressStream;
  readonly #enabled: boolean;
  readonly #color: boolean;
  readonly #now: () => number;
  readonly #started: number;
  #done = 0;
  #lastDraw = -Infinity;
  /** A line is on screen without its newline. */
  #open = false;
  #note = '';

  constructor(label: string, options: ProgressOptions) {
    const env = options.env ?? process.env;
    this.#label = label;
    this.#total = options.total;
    this.#unit = options.unit ?? 'bytes';
    this.#stream = options.stream ?? process.stderr;
    this.#enabled = options.enabled && this.#stream.isTTY === true;
    this.#color = (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
  }

  advance(amount: number, note?: string): void {
    this.#done += amount;
    if (note !== undefined) this.#note = note;
    if (this.#enabled && this.#now() - this.#lastDraw >= REDRAW_MS) this.#draw(false);
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.#enabled) return;
    this.#draw(true);
    this.stop();
  }

  /** Ends the line if one is on screen (before an error message, say). Safe to call again. */
  stop(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#stream.write('\n');
  }

  #draw(final: boolean): void {
    const now = this.#now();
    this.#lastDraw = now;
    const seconds = Math.max((now - this.#started) / 1000, 0.001);
    const rate = this.#done / seconds;
    const amount = (n: number): string => (this.#unit === 'bytes' ? humanSize(n) : String(n));
    const segments: Segment[] = [];
    let timing = final ? `in ${humanDuration(seconds)}` : '';
    // A pseudo-terminal without a size reports 0 columns.
    const width = Math.min(this.#stream.columns || 80, 120) - 1;
    if (this.#total !== undefined && this.#total > 0) {
      const ratio = Math.min(this.#done / this.#total, 1);
      const bar = width >= 99 ? 20 : 10;
      const filled = Math.round(ratio * bar);
      segments.push(['['], ['#'.repeat(filled), 'green'], [`${'-'.repeat(bar - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% `]);
      if (!final && rate > 0) timing = `ETA ${humanDuration(Math.max(this.#total - this.#done, 0) / rate)}`;
    }
    segments.push([`${amount(this.#done)}${this.#total === undefined ? '' : ` / ${amount(this.#total)}`}`]);
    segments.push([`  ${this.#unit === 'bytes' ? `${humanSize(Math.round(rate))}/s` : `${rate.toFixed(1)}/s`}`, 'dim']);
    if (timing !== '') segments.push([`  ${timing}`, 'dim']);
    // Redrawn in place: carriage return, the line cut to the terminal's width, spaces over the rest of the last one.
    // The figures matter more than the label (a long path): it gives way, keeping its end.
    const figures = segments.reduce((sum, [text]) => sum + text.length, 0);
    const labelRoom = Math.max(width - figures - 1, 8);
    segments.unshift([`${this.#label.length > labelRoom ? `…${this.#label.slice(-(labelRoom - 1))}` : this.#label} `]);
    // A note (the case that failed) comes last and is cut first.
    if (this.#note !== '') segments.push([`  ${this.#note}`, this.#note.startsWith('FAILED') ? 'red' : undefined]);
    let room = width;
    let line = '';
    for (const [text, style] of segments) {
      const visible = text.slice(0, Math.max(room, 0));
      room -= visible.length;
      line += style !== undefined && this.#color && visible !== '' ? `${SGR[style][0]}${visible}${SGR[style][1]}` : visible;
    }
    this.#stream.write(`\r${line}${' '.repeat(Math.max(room, 0))}`);
    this.#open = true;
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

/** "0.4s", "42s", "3m05s", "2h07m". */
export function humanDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}
