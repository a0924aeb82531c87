// The upstream OCI distribution registry and crane (its client from go-containerregistry), built with
// `go install` from the Go module proxy at pinned versions into a cache outside the work tree
// (~/.cache/storagedriver/go-bin, or STORAGEDRIVER_GO_BIN), and rebuilt only when the version a binary
// was built from (read back with `go version -m`) is not the pinned one. Used by the CLI's round trip
// test: registry storage written by upstream, synced by the CLI, served by upstream again.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { answers200, freePort } from './net.mjs';

export const REGISTRY = { module: 'github.com/distribution/distribution/v3', command: 'cmd/registry', version: 'v3.1.2' };
export const CRANE = { module: 'github.com/google/go-containerregistry', command: 'cmd/crane', version: 'v0.22.1' };

const binDir = process.env.STORAGEDRIVER_GO_BIN ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'storagedriver', 'go-bin');
export const registryBinary = join(binDir, 'registry');
export const craneBinary = join(binDir, 'crane');

/** `go` from PATH, else the machine's toolchain in /usr/local/go. */
function go() {
  return spawnSync('sh', ['-c', 'command -v go'], { stdio: 'ignore' }).status === 0 ? 'go' : '/usr/local/go/bin/go';
}

/** The version of `module` the binary was built from, or undefined (no binary, or another module). */
function builtVersion(binary, module) {
  if (!existsSync(binary)) return undefined;
  const info = spawnSync(go(), ['version', '-m', binary], { encoding: 'utf8' });
  return new RegExp(`^\\s*mod\\s+${module.replace(/[.]/g, '\\.')}\\s+(\\S+)`, 'm').exec(info.stdout ?? '')?.[1];
}

async function install(tool, binary) {
  if (builtVersion(binary, tool.module) === tool.version) return;
  mkdirSync(binDir, { recursive: true });
  await promisify(execFile)(go(), ['install', `${tool.module}/${tool.command}@${tool.version}`], {
    env: { ...process.env, GOBIN: binDir, CGO_ENABLED: '0' },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 15 * 60_000,
  }).catch((error) => {
    throw new Error(`go install ${tool.module}/${tool.command}@${tool.version} failed: ${error.stderr || error.message}`);
  });
  const built = builtVersion(binary, tool.module);
  if (built !== tool.version) throw new Error(`${binary}: built ${built ?? 'nothing'}, expected ${tool.version}`);
}

/** Builds the pinned registry and crane unless those exact builds are already in the cache. */
export async function ensureInstalled() {
  await install(REGISTRY, registryBinary);
  await install(CRANE, craneBinary);
}


/**
 * Serves `config` (a registry config.yml: its storage section is what matters) on 127.0.0.1 at a free
 * port, through upstream's own environment overrides. `host` is what crane takes (`host/repo:tag`:
 * loopback registries are plain HTTP to go-containerregistry); `stop()` kills the process.
 */
export async function startRegistry(config, env = {}) {
  await ensureInstalled();
  const port = await freePort();
  const child = spawn(registryBinary, ['serve', config], {
    env: {
      ...process.env, ...env,
      REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`, REGISTRY_HTTP_SECRET: 'storagedriver-test',
      REGISTRY_LOG_LEVEL: 'warn', REGISTRY_LOG_ACCESSLOG_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (data) => void (output = (output + data).slice(-64 * 1024));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let tries = 0; !(await answers200(port, '/v2/')); tries++) {
    if (child.exitCode !== null || tries > 150) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`registry (${config}) did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Runs `registry ARGS…` (garbage-collect, say) to completion; rejects on a non-zero exit. */
export async function registry(args, env = {}) {
  await ensureInstalled();
  const { stdout, stderr } = await promisify(execFile)(registryBinary, args, {
    env: { ...process.env, ...env, OTEL_TRACES_EXPORTER: 'none' }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000,
  });
  return `${stdout}${stderr}`;
}

/** Runs `crane ARGS…`; resolves with its stdout as bytes, rejects with its stderr on failure. */
export async function crane(args, env = {}) {
  await ensureInstalled();
  try {
    const { stdout } = await promisify(execFile)(craneBinary, args, {
      env: { ...process.env, ...env }, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    throw new Error(`crane ${args.join(' ')} failed: ${error.stderr?.toString() || error.message}`, { cause: error });
  }
}
