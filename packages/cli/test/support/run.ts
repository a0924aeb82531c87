/** Runs the real binary as a child process and collects what it printed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = join(__dirname, '..', '..', 'dist', 'esm', 'bin.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: Buffer | string;
  /** Leave stdin open after `input` (the caller writes more, or interrupts the command). */
  keepStdin?: boolean;
  /** The script to run instead of the built bin (an installed bin's symlink, say). */
  bin?: string;
}

export function start(args: string[], options: StartOptions = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [options.bin ?? BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => (stdout += data.toString('latin1')));
  child.stderr!.on('data', (data: Buffer) => (stderr += data));
  // A command that exits without reading all of stdin closes the pipe: not the test's concern.
  child.stdin!.on('error', () => undefined);
  if (options.keepStdin === true) {
    if (options.input !== undefined) child.stdin!.write(options.input);
  } else {
    child.stdin!.end(options.input);
  }
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

export function run(args: string[], options: StartOptions = {}): Promise<Run> {
  return start(args, options).done;
}

/** The single JSON document a --json command printed. */
export function json(result: Run): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** A user error as the CLI must report it: exactly one line on stderr, no stack trace, this exit status. */
export function expectOneLineError(result: Run, message: RegExp, code: number): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code, stderr: expect.stringMatching(/^storagedriver: [^\n]*\n$/) });
  expect(result.stderr).toMatch(message);
}

/** Every regular file below `dir`, recursively (hidden staging directories included). */
export function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `storagedriver-cli-${name}-`));
}

/** Writes a registry config.yml and returns its path. */
export function registryConfig(dir: string, name: string, yaml: string): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, yaml);
  return file;
}
