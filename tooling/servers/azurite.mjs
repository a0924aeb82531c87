// Azurite (blob service only) on 127.0.0.1 over HTTPS, with a self-signed certificate made for the
// run: real Azure serves SAS URLs only over HTTPS, so the redirect tests must fetch over TLS too.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The development account every Azurite accepts (published in Azurite's documentation). */
export const ACCOUNT_NAME = 'devstoreaccount1';
export const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function azuriteEntry() {
  // Resolved from the azure package, which declares azurite as a dev dependency.
  const require = createRequire(new URL('../../packages/azure/package.json', import.meta.url));
  return join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
}

/** Azurite comes from the npm registry with `pnpm install`; this only checks that it is there. */
export async function ensureInstalled() {
  const entry = azuriteEntry();
  if (!existsSync(entry)) throw new Error(`azurite: ${entry} is missing; run pnpm install`);
  execFileSync('openssl', ['version'], { stdio: 'ignore' });
}

function probe(port, ca) {
  return new Promise((resolve) => {
    const req = (ca ? request : httpRequest)({ host: '127.0.0.1', port, path: `/${ACCOUNT_NAME}?comp=list`, ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Starts Azurite in a fresh temporary directory; `stop()` kills it and removes the directory. Over
 * TLS with a certificate made for the run (`ca`), unless `tls: false` (for the benchmark's OpenDAL
 * baseline, whose TLS stack trusts only its built-in roots).
 */
export async function start({ tls = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'storagedriver-azurite-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (tls) {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
  }
  const ca = tls ? readFileSync(cert, 'utf8') : undefined;
  const child = spawn(process.execPath, [
    azuriteEntry(), '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '6144',
    '--skipApiVersionCheck', '--disableTelemetry', '--loose', ...(tls ? ['--cert', cert, '--key', key] : []),
  ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise((resolve, reject) => {
    const onData = (data) => {
      output += data;
      const match = /listens on https?:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`azurite exited (${code}) before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`azurite did not report its port in 30 s:\n${output}`)), 30_000).unref();
  });
  // Readiness by a raw request: the SDK's retry policy would back off seconds on a refused connection.
  for (let tries = 0; !(await probe(port, ca)); tries++) {
    if (tries > 100) throw new Error('azurite does not answer');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const endpoint = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/${ACCOUNT_NAME}`;
  return {
    endpoint,
    accountName: ACCOUNT_NAME,
    accountKey: ACCOUNT_KEY,
    ca,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        // Its blobs live in memory and go with it: a server slow to wind down is killed.
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
