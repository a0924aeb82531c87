/**
 * Ordinary mistakes and ordinary Unix use, through the built binary: every user error is one line on
 * stderr with its exit status and no stack trace (unless --debug); a closed stdout (`| head`) ends the
 * command quietly with success; Ctrl-C during put cancels the upload; get never overwrites without --force.
 */
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { patternBytes } from '@storagedriver/testsuite';

import { COMMANDS } from '../src/help.js';

import { BIN, expectOneLineError, filesBelow, json, run, start, tempDir, type Run } from './support/run.js';

const version = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
let cwd: string;

beforeAll(async () => {
  cwd = tempDir('mistakes');
  expect((await run(['put', '-', '/dir/small.txt'], { cwd, input: 'small' })).code).toBe(0);
});

/** Runs the binary and closes stdout's read end after the first output, as `| head` does. */
function runClosingStdout(args: string[]): Promise<Run> {
  const { child, done } = start(args, { cwd });
  child.stdout!.once('data', () => child.stdout!.destroy());
  return done;
}

describe('local files', () => {
  test('put of a missing file: one line, exit 1, nothing uploaded', async () => {
    const result = await run(['put', 'missing.bin', '/x'], { cwd });
    expectOneLineError(result, /^storagedriver: missing\.bin: no such file or directory\n$/, 1);
    expect(json(await run(['ls', '--json'], { cwd })).entries).toEqual(['/dir']);
    expect(json(await run(['put', 'missing.bin', '/x', '--json'], { cwd })).error).toEqual({ code: 'ENOENT', message: 'missing.bin: no such file or directory' });
  });

  test('get into a folder that does not exist: one line, exit 1', async () => {
    expectOneLineError(await run(['get', '/dir/small.txt', 'no/such/folder/small.txt'], { cwd }), /no\/such\/folder\/small\.txt: no such directory no\/such\/folder/, 1);
  });

  test('get keeps an existing file unless --force, and then replaces it only with the whole object', async () => {
    const local = join(cwd, 'kept.txt');
    writeFileSync(local, 'mine');
    expectOneLineError(await run(['get', '/dir/small.txt', 'kept.txt'], { cwd }), /kept\.txt: already exists \(use --force/, 1);
    expect(readFileSync(local, 'utf8')).toBe('mine');
    // A failed forced get (the object is missing) leaves the file alone too.
    expectOneLineError(await run(['get', '/dir/nope.txt', 'kept.txt', '--force'], { cwd }), /Path not found: \/dir\/nope\.txt/, 1);
    expect(readFileSync(local, 'utf8')).toBe('mine');
    const forced = await run(['get', '/dir/small.txt', 'kept.txt', '--force', '--json'], { cwd });
    expect(json(forced)).toEqual({ path: '/dir/small.txt', file: 'kept.txt', bytes: 5 });
    expect(readFileSync(local, 'utf8')).toBe('small');
    expect(readdirSync(cwd).filter((name) => name.endsWith('.part'))).toEqual([]);
  });

  test('get into an existing directory writes the object under its base name there', async () => {
    mkdirSync(join(cwd, 'into'));
    expect((await run(['get', '/dir/small.txt', 'into'], { cwd })).code).toBe(0);
    expect(readFileSync(join(cwd, 'into', 'small.txt'), 'utf8')).toBe('small');
  });

  test('get of a missing object creates no local file', async () => {
    expectOneLineError(await run(['get', '/dir/absent.bin'], { cwd }), /Path not found/, 1);
    expect(readdirSync(cwd)).not.toContain('absent.bin');
  });
});

describe('a closed stdout ends the command quietly with success', () => {
  beforeAll(() => {
    // Enough entries and bytes that the command is still writing when the reader goes away.
    for (let i = 0; i < 3000; i++) {
      mkdirSync(join(cwd, 'storage', 'many', `d${i % 10}`), { recursive: true });
      writeFileSync(join(cwd, 'storage', 'many', `d${i % 10}`, `file-${i}`), 'x');
    }
    writeFileSync(join(cwd, 'storage', 'big.bin'), patternBytes(8 * 1024 * 1024, 3));
  });

  test.each([
    ['tree', ['tree']],
    ['tree --json', ['tree', '--json']],
    ['cat', ['cat', '/big.bin']],
    ['get -', ['get', '/big.bin', '-']],
  ])('%s | head', async (_name, args) => {
    const result = await runClosingStdout(args);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  });
});

describe('the command line', () => {
  test('--version and -v print the version from package.json', async () => {
    for (const flag of ['--version', '-v']) expect(await run([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(json(await run(['--version', '--json']))).toEqual({ version });
  });

  test('an unknown option names itself, then the command usage; exit 2', async () => {
    const result = await run(['ls', '--bogus'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`storagedriver: unknown option --bogus\nusage: storagedriver ${COMMANDS.ls!.usage}; storagedriver help ls for more\n`);
    expect(result.stderr).not.toMatch(/To specify a positional/);
    // An option of another command is refused the same way, not silently ignored.
    const foreign = await run(['stat', '/dir', '--full'], { cwd });
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/^storagedriver: stat does not take --full\nusage: storagedriver stat PATH;/);
    expect((await run(['sync', '--driver', 'inmemory'], { cwd })).stderr).toMatch(/^storagedriver: sync does not take --driver\n/);
    const missingValue = await run(['--driver'], { cwd });
    expect(missingValue.code).toBe(2);
    expect(missingValue.stderr).toMatch(/^storagedriver: option --driver needs a value\nusage: /);
    expect(json(await run(['ls', '--json', '--bogus'], { cwd }))).toEqual({ error: { code: 'USAGE', message: 'unknown option --bogus', usage: expect.stringContaining('storagedriver ls') } });
  });

  test('wrong arguments and unknown commands are usage errors (exit 2) with the usage', async () => {
    const missing = await run(['stat'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('storagedriver: stat: missing argument\nusage: storagedriver stat PATH; storagedriver help stat for more\n');
    expect((await run(['mv', '/a', '/b', '/c'], { cwd })).stderr).toMatch(/^storagedriver: mv: unexpected argument "\/c"\n/);
    expect((await run(['frobnicate'], { cwd })).stderr).toMatch(/^storagedriver: unknown command "frobnicate"\nusage: /);
    expect((await run(['help', 'frobnicate'], { cwd })).code).toBe(2);
    expect((await run([], { cwd })).code).toBe(2);
  });

  test('uploads: purge without --older-than or with a bad age, a missing or unknown subcommand, an option of the other: usage, exit 2', async () => {
    const usage = `usage: storagedriver ${COMMANDS.uploads!.usage}; storagedriver help uploads for more\n`;
    const uploads = (...args: string[]) => run(['uploads', ...args], { cwd });
    expect(await uploads('purge')).toEqual({ code: 2, stdout: '', stderr: `storagedriver: uploads purge: --older-than is required (e.g. --older-than 7d; 0s for every upload)\n${usage}` });
    // A value starting with a dash is read as an option unless attached with `=`.
    expect((await uploads('purge', '--older-than', '-1d')).stderr).toBe(`storagedriver: option --older-than needs a value (one starting with a dash as --older-than=-VALUE)\n${usage}`);
    for (const age of ['7', '7days', '-1d', '1.5h', '']) {
      expect(await uploads('purge', '/', `--older-than=${age}`)).toEqual({ code: 2, stdout: '', stderr: `storagedriver: --older-than ${age}: an age such as 7d, 12h, 30m or 90s (or 1d12h)\n${usage}` });
    }
    expect(await uploads()).toEqual({ code: 2, stdout: '', stderr: `storagedriver: uploads: missing subcommand (ls or purge)\n${usage}` });
    expect((await uploads('rm')).stderr).toBe(`storagedriver: uploads: unknown subcommand "rm" (ls or purge)\n${usage}`);
    expect((await uploads('ls', '--older-than', '1d')).stderr).toBe(`storagedriver: uploads ls does not take --older-than\n${usage}`);
    expect((await uploads('purge', '/a', '/b', '--older-than', '1d')).stderr).toBe(`storagedriver: uploads purge: unexpected argument "/b"\n${usage}`);
    expect(json(await uploads('purge', '--older-than', 'soon', '--json'))).toEqual({ error: { code: 'USAGE', message: '--older-than soon: an age such as 7d, 12h, 30m or 90s (or 1d12h)', usage: usage.trimEnd() } });
  });

  test('help COMMAND and COMMAND --help give the same help for every command', async () => {
    expect((await run(['help'])).stdout).toBe((await run(['--help'])).stdout);
    for (const name of Object.keys(COMMANDS)) {
      const [viaHelp, viaFlag] = await Promise.all([run(['help', name]), run([name, '--help'])]);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
      expect(viaHelp.stdout.startsWith(`storagedriver ${COMMANDS[name]!.usage}\n`)).toBe(true);
    }
  });

  test('a stack trace only with --debug', async () => {
    const plain = await run(['stat', '/nope'], { cwd });
    expectOneLineError(plain, /Path not found: \/nope/, 1);
    const debug = await run(['stat', '/nope', '--debug'], { cwd });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^storagedriver: .*Path not found: \/nope\n/);
    expect(debug.stderr).toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });

  test('conformance --filter that matches no case fails, so a typo in CI is not green', async () => {
    const result = await run(['conformance', '--filter', 'no case is called this'], { cwd });
    expectOneLineError(result, /--filter "no case is called this" matches no conformance case/, 2);
    expect(result.stdout).toBe('');
  });
});

test('Ctrl-C during put cancels the upload: exit 130, one line, nothing left under the storage root', async () => {
  const root = join(tempDir('interrupt'), 'root');
  const chunk = patternBytes(256 * 1024, 9);
  const { child, done } = start(['--driver', 'filesystem', '--param', `rootdirectory=${root}`, 'put', '-', '/uploads/big.bin'], { input: chunk, keepStdin: true });
  // Wait until the upload is staged (its bytes are on disk), then interrupt it mid-stream.
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const staged = (() => {
      try {
        return filesBelow(root);
      } catch {
        return []; // the root is created with the first upload
      }
    })();
    if (staged.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(filesBelow(root).length).toBeGreaterThan(0);
  child.stdin!.write(chunk);
  child.kill('SIGINT');
  const result = await done;
  expectOneLineError(result, /^storagedriver: interrupted; the upload to \/uploads\/big\.bin was cancelled\n$/, 130);
  expect(filesBelow(root)).toEqual([]);
  expect(json(await run(['--driver', 'filesystem', '--param', `rootdirectory=${root}`, 'ls', '--json'])).entries).toEqual([]);
});

test('installed as npm installs it (node_modules/.bin symlink), --version works and --json stdout is one clean document', async () => {
  const project = tempDir('installed');
  mkdirSync(join(project, 'node_modules', '@storagedriver'), { recursive: true });
  mkdirSync(join(project, 'node_modules', '.bin'));
  symlinkSync(join(__dirname, '..'), join(project, 'node_modules', '@storagedriver', 'cli'), 'dir');
  const bin = join(project, 'node_modules', '.bin', 'storagedriver');
  symlinkSync(join('..', '@storagedriver', 'cli', 'dist', 'esm', 'bin.js'), bin);
  expect(BIN.endsWith(join('dist', 'esm', 'bin.js'))).toBe(true);

  expect(await run(['--version'], { cwd: project, bin })).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  const put = await run(['put', '-', '/a/b.txt', '--json'], { cwd: project, bin, input: 'hello' });
  expect(put).toEqual({ code: 0, stdout: `${JSON.stringify({ path: '/a/b.txt', file: '-', bytes: 5 })}\n`, stderr: '' });
  for (const args of [['ls', '/a', '--json'], ['stat', '/a/b.txt', '--json'], ['tree', '--json'], ['du', '--json']]) {
    const result = await run(args, { cwd: project, bin });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(() => JSON.parse(result.stdout)).not.toThrow();
  }
  const failed = await run(['stat', '/missing', '--json'], { cwd: project, bin });
  expect(failed.code).toBe(1);
  expect(failed.stderr).toBe('');
  expect(json(failed).error.code).toBe('PATH_NOT_FOUND');
});
