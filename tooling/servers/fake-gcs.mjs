// fake-gcs-server (the GCS emulator Rust object_store's CI uses), built from the Go module proxy into
// .test-servers/bin and reused while its version matches; run on 127.0.0.1 over HTTP, in memory.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { answers200, freePort } from './net.mjs';

export const VERSION = 'v1.56.1';
const MODULE = 'github.com/fsouza/fake-gcs-server';
const binDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.test-servers', 'bin');
const binary = join(binDir, 'fake-gcs-server');
const stamp = join(binDir, 'fake-gcs-server.version');

/** Builds the pinned release with `go install` unless that exact build is already there. */
export async function ensureInstalled() {
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === VERSION) return;
  mkdirSync(binDir, { recursive: true });
  await promisify(execFile)('go', ['install', `${MODULE}@${VERSION}`], {
    env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' },
    maxBuffer: 64 * 1024 * 1024,
  });
  writeFileSync(stamp, `${VERSION}\n`);
}


/** Starts the emulator; `endpoint` is its base URL (the client's apiEndpoint), `stop()` kills it. */
export async function start() {
  await ensureInstalled();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(binary, [
    '-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory',
    '-external-url', endpoint, '-public-host', `127.0.0.1:${port}`, '-log-level', 'error',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (data) => (output += data));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let tries = 0; !(await answers200(port, '/storage/v1/b')); tries++) {
    if (child.exitCode !== null || tries > 150) {
      child.kill('SIGKILL');
      throw new Error(`fake-gcs-server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
