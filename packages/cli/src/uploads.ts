/**
 * `uploads ls` and `uploads purge`: the resumable uploads a driver keeps that were never committed
 * (an interrupted `put`, a crashed registry push). Upstream's registry purges its abandoned uploads on
 * a schedule; these are the same thing by hand, for the uploads the driver itself holds.
 */
import { purgeUploads, type PendingUpload, type StorageDriver } from '@storagedriver/core';

import type { Output } from './output.js';
import { humanDuration, humanSize } from './progress.js';

const UNITS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/**
 * Milliseconds from `7d`, `12h`, `30m`, `90s` or a sequence of them (`1d12h`); undefined when the text
 * is anything else. Whole numbers only: a fraction of a day is said in hours.
 */
export function parseAge(text: string): number | undefined {
  if (!/^(\d+[dhms])+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([dhms])/g)) total += Number(amount) * UNITS[unit!]!;
  return Number.isSafeInteger(total) ? total : undefined;
}

/** "40s", "3h12m", "2d05h": how long ago `date` was. */
export function age(date: Date, now = Date.now()): string {
  const seconds = Math.max((now - date.getTime()) / 1000, 0);
  if (seconds < 86_400) return humanDuration(seconds);
  const hours = Math.floor(seconds / 3600);
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}

function describe(upload: PendingUpload): Record<string, unknown> {
  return { path: upload.path, id: upload.id, startedAt: upload.startedAt.toISOString(), size: upload.size };
}

/** One line of the human listing: path, id, started (ISO time and age), size; tab-separated. */
function line(upload: PendingUpload): string {
  return `${upload.path}\t${upload.id}\t${upload.startedAt.toISOString()} (${age(upload.startedAt)} ago)\t${humanSize(upload.size)}`;
}

/**
 * `uploads ls [PATH]`: every pending upload at or below PATH, streamed as the driver lists them (one
 * line each; with --json a JSON array, entry by entry). Stops as soon as stdout's reader is gone.
 */
export async function ls(driver: StorageDriver, out: Output, path = '/'): Promise<void> {
  const uploads = driver.uploads(path)[Symbol.asyncIterator]();
  // The first step before any output: a refusal (a driver without the claim, a bad path) is then the only document on stdout.
  let step = await uploads.next();
  if (out.json) out.write('[');
  for (let first = true; step.done !== true; first = false, step = await uploads.next()) {
    const text = out.json ? `${first ? '' : ','}\n${JSON.stringify(describe(step.value))}` : `${line(step.value)}\n`;
    if (!out.write(text)) {
      await uploads.return?.();
      return;
    }
  }
  if (out.json) out.write('\n]\n');
}

/**
 * `uploads purge [PATH] --older-than AGE [--dry-run]`: aborts every pending upload at or below PATH
 * that started more than `ageMs` ago (`0s`: every upload started before now), or with `dryRun` only says
 * which it would abort. Committed content is never touched.
 */
export async function purge(driver: StorageDriver, out: Output, path: string, options: { ageMs: number; dryRun: boolean }): Promise<void> {
  const olderThan = new Date(Date.now() - options.ageMs);
  const uploads = await purgeUploads(driver, { path, olderThan, dryRun: options.dryRun });
  const bytes = uploads.reduce((sum, upload) => sum + upload.size, 0);
  const verb = options.dryRun ? 'would abort' : 'aborted';
  const lines = uploads.map((upload) => `${verb}\t${line(upload)}`);
  lines.push(`${verb} ${uploads.length} upload${uploads.length === 1 ? '' : 's'} (${humanSize(bytes)}) under ${path} started before ${olderThan.toISOString()}`);
  out.result(lines.join('\n'), { path, olderThan: olderThan.toISOString(), dryRun: options.dryRun, uploads: uploads.map(describe), bytes });
}
