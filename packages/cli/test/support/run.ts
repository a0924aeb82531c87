/** Runs the real binary as a child process and collects what it printed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = join(__dirname, '..', '..', 'dist', 'esm', 'bin.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function start(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string } = {}): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => (stdout += data.toString('latin1')));
  child.stderr!.on('data', (data: Buffer) => (stderr += data));
  child.stdin!.end(options.input);
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

export function run(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string } = {}): Promise<Run> {
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

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `storagedriver-cli-${name}-`));
}

/** Writes a registry config.yml and returns its path. */
export function registryConfig(dir: string, name: string, yaml: string): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, yaml);
  return file;
}
