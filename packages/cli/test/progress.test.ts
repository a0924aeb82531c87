/**
 * Progress for put and get: bytes, rate and time left on a terminal, in colour unless NO_COLOR;
 * nothing at all on a pipe.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { patternBytes } from '@storagedriver/testsuite';

import { Progress, type ProgressStream } from '../src/progress.js';

import { BIN, run, tempDir } from './support/run.js';

const ESC = '\x1b[';

class FakeTerminal implements ProgressStream {
  readonly isTTY = true;
  readonly columns = 100;
  written = '';

  write(text: string): boolean {
    this.written += text;
    return true;
  }
}

/** A put of 10 MiB at 1 MiB per second, drawn on a fake terminal with a fake clock. */
function render(env: NodeJS.ProcessEnv, stream: ProgressStream = new FakeTerminal()): string {
  let now = 0;
  const progress = new Progress('put /images/big.tar', { total: 10 * 1024 * 1024, enabled: true, stream, env, now: () => now });
  for (let second = 1; second <= 10; second++) {
    now = second * 1000;
    progress.advance(1024 * 1024);
  }
  progress.finish();
  return (stream as FakeTerminal).written;
}

const plain = (text: string): string => text.replaceAll(/\x1b\[\d+m/g, ''); // eslint-disable-line no-control-regex

test('on a terminal: a bar, bytes done of the total, the rate and the time left, redrawn in place, then the total time', () => {
  const lines = plain(render({})).split('\r').filter((line) => line !== '');
  expect(lines).toHaveLength(11);
  expect(lines[2]).toMatch(/^put \/images\/big\.tar \[#{6}-{14}\] {2}30% 3\.0 MiB \/ 10\.0 MiB {2}1\.0 MiB\/s {2}ETA 7\.0s +$/);
  expect(lines[2]).toHaveLength(99);
  expect(lines[10]).toMatch(/^put \/images\/big\.tar \[#{20}\] 100% 10\.0 MiB \/ 10\.0 MiB {2}1\.0 MiB\/s {2}in 10s +\n$/);
});

test('colour only without NO_COLOR (and not on a dumb terminal)', () => {
  expect(render({})).toContain(`${ESC}32m######`);
  for (const env of [{ NO_COLOR: '1' }, { TERM: 'dumb' }]) {
    const text = render(env);
    expect(text).not.toContain('\x1b');
    expect(text).toMatch(/ETA 7\.0s/);
  }
  // An empty NO_COLOR does not count (https://no-color.org).
  expect(render({ NO_COLOR: '' })).toContain(ESC);
});

test('a long label gives way to the figures on a narrow terminal', () => {
  const narrow = Object.assign(new FakeTerminal(), { columns: 80 });
  let now = 0;
  const progress = new Progress(`put /${'deep/'.repeat(20)}object.bin`, { total: 100, enabled: true, stream: narrow, env: { NO_COLOR: '1' }, now: () => now });
  now = 1000;
  progress.advance(50);
  const line = narrow.written.slice(1);
  expect(line).toHaveLength(79);
  expect(line).toMatch(/^….*deep\/object\.bin \[#{5}-{5}\] {2}50% 50 B \/ 100 B {2}50 B\/s {2}ETA 1\.0s$/);
});

test('nothing when the stream is not a terminal, or the progress is disabled (--json)', () => {
  const pipe = Object.assign(new FakeTerminal(), { isTTY: false });
  expect(render({}, pipe)).toBe('');
  const terminal = new FakeTerminal();
  const disabled = new Progress('get /x', { total: 10, enabled: false, stream: terminal, env: {} });
  disabled.advance(10);
  disabled.finish();
  expect(terminal.written).toBe('');
});

describe('the binary', () => {
  const dir = tempDir('progress');
  const data = patternBytes(6 * 1024 * 1024 + 1, 5);
  writeFileSync(join(dir, 'data.bin'), data);

  test('put and get print nothing on stderr when it is a pipe', async () => {
    const put = await run(['put', 'data.bin', '/data.bin'], { cwd: dir });
    expect({ code: put.code, stderr: put.stderr }).toEqual({ code: 0, stderr: '' });
    const get = await run(['get', '/data.bin', 'copy.bin'], { cwd: dir });
    expect({ code: get.code, stderr: get.stderr }).toEqual({ code: 0, stderr: '' });
    const piped = await run(['get', '/data.bin', '-'], { cwd: dir });
    expect({ code: piped.code, stderr: piped.stderr, bytes: piped.stdout.length }).toEqual({ code: 0, stderr: '', bytes: data.length });
  });

  // util-linux `script` runs the command on a pseudo-terminal (stdout and stderr both on it).
  const hasScript = spawnSync('script', ['--version']).status === 0;
  const onTerminal = (args: string[], env: NodeJS.ProcessEnv): { status: number | null; output: string } => {
    const command = [process.execPath, BIN, ...args].map((arg) => `'${arg}'`).join(' ');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd: dir, env: { ...process.env, ...env }, encoding: 'latin1', timeout: 60_000 });
    return { status: result.status, output: result.stdout };
  };

  (hasScript ? test : test.skip)('put and get draw their progress on a terminal, in colour unless NO_COLOR', () => {
    const put = onTerminal(['put', 'data.bin', '/tty.bin'], { NO_COLOR: '', TERM: 'xterm' });
    expect(put.status).toBe(0);
    expect(put.output).toMatch(/\rput \/tty\.bin \[.*#{10}.*\] 100% 6\.0 MiB \/ 6\.0 MiB.*\/s.* in [\d.]+m?s/);
    expect(put.output).toContain(`${ESC}32m`);
    const get = onTerminal(['get', '/tty.bin', 'tty-copy.bin'], { NO_COLOR: '1' });
    expect(get.status).toBe(0);
    expect(get.output).toMatch(/\rget \/tty\.bin \[#{10}\] 100% 6\.0 MiB \/ 6\.0 MiB {2}[\d.]+ [KMG]iB\/s {2}in [\d.]+m?s/);
    expect(get.output).not.toContain('\x1b');
  });
});
