/**
 * `uploads ls` and `uploads purge` through the built binary on every driver: an upload the library
 * left behind (written, closed, never committed, with the parameters the CLI reads) is listed with
 * its size, kept by a dry run and by an age it has not reached, then aborted, and committed objects
 * stay as they were. inmemory keeps its store in one process, so no upload outlives a CLI run: it is
 * tested in this process, through the same command functions the binary calls.
 */
import { join } from 'node:path';

import { BaseDriver, type StorageBackend, type StorageDriver } from '@storagedriver/core';
import { patternBytes } from '@storagedriver/testsuite';

import { openBackend, resolveBackend, type BackendFlags } from '../src/backend.js';
import { describeError, exitCodeOf } from '../src/errors.js';
import { Output } from '../src/output.js';
import * as uploads from '../src/uploads.js';

import { azureConfig, gcsConfig, ossConfig, radosConfig, s3Config, swiftConfig } from './support/backends.js';
import './support/resolve-test-names.cjs';
import { json, run, tempDir } from './support/run.js';

const dir = tempDir('uploads');
const SIZE = 3000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Target {
  /** The backend options on the command line. */
  args: string[];
  /** The same, for the library in this process. */
  flags: BackendFlags;
  env?: NodeJS.ProcessEnv;
}

const fromConfig = (file: string, env?: NodeJS.ProcessEnv): Target => ({ args: ['--config', file], flags: { config: file }, env });

const targets: [string, () => Promise<Target>][] = [
  ['filesystem', async () => {
    const param = [`rootdirectory=${join(tempDir('uploads-fs'), 'root')}`];
    return { args: ['--driver', 'filesystem', '--param', param[0]!], flags: { driver: 'filesystem', param } };
  }],
  ['s3', async () => fromConfig(await s3Config(dir))],
  ['azure', async () => fromConfig(await azureConfig(dir))],
  ['gcs', async () => {
    const { file, env } = await gcsConfig(dir);
    return fromConfig(file, env);
  }],
  ['swift', async () => fromConfig(swiftConfig(dir))],
  ['rados', async () => fromConfig(radosConfig(dir))],
  ['oss', async () => {
    const { file, env } = await ossConfig(dir);
    return fromConfig(file, env);
  }],
];

/** Committed objects at the upload's path and beside it, and the upload itself: 3 000 bytes, closed, not committed. */
async function leaveUpload(driver: StorageDriver): Promise<number> {
  await driver.putContent('/data/one', 'committed one');
  await driver.putContent('/keep/other', 'committed other');
  const writer = await driver.writer('/data/one');
  await writer.write(patternBytes(SIZE, 11));
  await writer.close();
  return Date.now();
}

async function expectCommittedUntouched(driver: StorageDriver): Promise<void> {
  expect((await driver.getContent('/data/one')).toString()).toBe('committed one');
  expect((await driver.getContent('/keep/other')).toString()).toBe('committed other');
}

test.each(targets)('uploads ls and purge on %s, through the binary', async (_name, configure) => {
  const { args, flags, env } = await configure();
  const cli = (more: string[]) => run([...args, ...more], { cwd: dir, env });
  const driver = await openBackend(resolveBackend(flags, { ...process.env, ...env }));
  try {
    const left = await leaveUpload(driver);

    const listed = await cli(['uploads', 'ls', '--json']);
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(json(listed)).toEqual([{ path: '/data/one', id: expect.any(String), startedAt: expect.any(String), size: SIZE }]);
    const [upload] = json(listed) as [{ id: string; startedAt: string }];
    // Started when the writer was opened, by the service's clock (this machine's).
    expect(Math.abs(Date.parse(upload.startedAt) - left)).toBeLessThan(60_000);
    const human = await cli(['uploads', 'ls', '/data']);
    expect(human.code).toBe(0);
    expect(human.stdout.split('\t')).toEqual(['/data/one', upload.id, expect.stringMatching(new RegExp(`^${escape(upload.startedAt)} \\(\\d.*s ago\\)$`)), '2.9 KiB\n']);
    // Below another path there is nothing.
    expect(json(await cli(['uploads', 'ls', '/keep', '--json']))).toEqual([]);

    // Past the second the upload started in (services that keep whole seconds), so `0s` takes it.
    await sleep(Math.max(0, left + 1100 - Date.now()));
    const dryRun = json(await cli(['uploads', 'purge', '--older-than', '0s', '--dry-run', '--json']));
    expect(dryRun).toEqual({ path: '/', olderThan: expect.any(String), dryRun: true, uploads: [upload], bytes: SIZE });
    expect(json(await cli(['uploads', 'ls', '--json']))).toEqual([upload]);
    // A day old it is not.
    expect(json(await cli(['uploads', 'purge', '--older-than', '1d', '--json']))).toMatchObject({ dryRun: false, uploads: [], bytes: 0 });
    expect(json(await cli(['uploads', 'ls', '--json']))).toEqual([upload]);

    const purged = await cli(['uploads', 'purge', '--older-than', '0s']);
    expect({ code: purged.code, stderr: purged.stderr }).toEqual({ code: 0, stderr: '' });
    expect(purged.stdout).toMatch(new RegExp(`^aborted\\t/data/one\\t${escape(upload.id)}\\t.*\\n` + 'aborted 1 upload \\(2\\.9 KiB\\) under / started before \\S+\\n$'));
    expect(json(await cli(['uploads', 'ls', '--json']))).toEqual([]);
    await expectCommittedUntouched(driver);
    expect((await cli(['cat', '/data/one'])).stdout).toBe('committed one');
  } finally {
    await (driver as { close?: () => Promise<void> }).close?.();
  }
});

test('uploads ls and purge on inmemory, in this process (its store does not outlive a CLI run)', async () => {
  const driver = await openBackend(resolveBackend({ driver: 'inmemory' }));
  const printed: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((text) => (printed.push(String(text)), true));
  const take = (): unknown => JSON.parse(printed.splice(0).join(''));
  try {
    const left = await leaveUpload(driver);
    const out = new Output(true);
    await uploads.ls(driver, out);
    const listed = take();
    expect(listed).toEqual([{ path: '/data/one', id: expect.any(String), startedAt: expect.any(String), size: SIZE }]);
    await sleep(Math.max(0, left + 10 - Date.now()));
    await uploads.purge(driver, out, '/', { ageMs: 0, dryRun: true });
    expect(take()).toMatchObject({ dryRun: true, uploads: listed, bytes: SIZE });
    await uploads.purge(driver, out, '/', { ageMs: uploads.parseAge('1d')!, dryRun: false });
    expect(take()).toMatchObject({ uploads: [], bytes: 0 });
    await uploads.ls(driver, out);
    expect(take()).toEqual(listed);
    await uploads.purge(driver, out, '/', { ageMs: 0, dryRun: false });
    expect(take()).toMatchObject({ dryRun: false, uploads: listed, bytes: SIZE });
    await uploads.ls(driver, out);
    expect(take()).toEqual([]);
    await expectCommittedUntouched(driver);
  } finally {
    write.mockRestore();
  }
});

test('a driver without the uploads claim: UNSUPPORTED_METHOD in one line, exit 1, and nothing of a listing on stdout', async () => {
  // Every driver the CLI knows claims uploads; a backend of nothing claims nothing.
  const driver = new BaseDriver({ name: 'bare' } as unknown as StorageBackend);
  const printed: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((text) => (printed.push(String(text)), true));
  try {
    const out = new Output(true);
    const refusals = await Promise.all([uploads.ls(driver, out).catch((error: unknown) => error), uploads.purge(driver, out, '/', { ageMs: 0, dryRun: true }).catch((error: unknown) => error)]);
    for (const error of refusals) {
      expect(describeError(error)).toEqual({ code: 'UNSUPPORTED_METHOD', message: 'bare: unsupported method: uploads' });
      expect(exitCodeOf(error)).toBe(1);
    }
    expect(printed).toEqual([]);
  } finally {
    write.mockRestore();
  }
});

test('ages: d, h, m, s and sequences of them; nothing else', () => {
  expect(['7d', '12h', '30m', '90s', '0s', '1d12h'].map(uploads.parseAge)).toEqual([7 * 86_400_000, 12 * 3_600_000, 30 * 60_000, 90_000, 0, 36 * 3_600_000]);
  for (const bad of ['', '7', '7 d', '-1d', '1.5h', '7days', 'd', '1w', '1d ']) expect(uploads.parseAge(bad)).toBeUndefined();
  const now = Date.parse('2026-12-02T12:00:00Z');
  expect([40, 3 * 3600 + 12 * 60, 2 * 86_400 + 5 * 3600].map((seconds) => uploads.age(new Date(now - seconds * 1000), now))).toEqual(['40s', '3h12m', '2d05h']);
});
