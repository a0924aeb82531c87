/**
 * The upstream registry and crane for the round trip tests (built by tooling/servers/registry.mjs):
 * images pushed by crane, what a registry serves read back digest by digest, and the registry layout
 * checked on disk.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { patternBytes } from '@storagedriver/testsuite';

import type * as Tools from '../../../../tooling/servers/registry.mjs';

let loaded: Promise<typeof Tools> | undefined;
/** The tooling module (ESM), loaded once. */
export function tools(): Promise<typeof Tools> {
  loaded ??= import('../../../../tooling/servers/registry.mjs');
  return loaded;
}

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A layer tarball of seeded (incompressible) files, written reproducibly. */
export function layerTar(dir: string, name: string, files: { name: string; size: number; seed: number }[]): string {
  const content = join(dir, `${name}.d`);
  mkdirSync(content, { recursive: true });
  for (const file of files) writeFileSync(join(content, file.name), patternBytes(file.size, file.seed));
  const tar = join(dir, `${name}.tar`);
  execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '-C', content, '.']);
  return tar;
}

export function fsConfig(dir: string, name: string, root: string): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, `version: 0.1
storage:
  filesystem:
    rootdirectory: ${root}
  delete:
    enabled: true
`);
  return file;
}

/** What a registry serves for some tags: every manifest's bytes and every blob's digest, by repository. */
export interface Served {
  tags: Record<string, string[]>;
  /** `repo:tag` and `repo@digest` → the manifest's digest, re-hashed from its bytes. */
  manifests: Record<string, string>;
  /** `repo@digest` of every config and layer blob → its re-hashed digest. */
  blobs: Record<string, string>;
}

interface Manifest {
  mediaType?: string;
  manifests?: { digest: string }[];
  config?: { digest: string };
  layers?: { digest: string }[];
}

/** Reads back every tag of `repositories` and everything they reference, re-hashing every byte. */
export async function readServed(host: string, repositories: string[], env: NodeJS.ProcessEnv): Promise<Served> {
  const { crane } = await tools();
  const served: Served = { tags: {}, manifests: {}, blobs: {} };
  const manifest = async (repo: string, reference: string): Promise<void> => {
    const key = `${repo}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    if (served.manifests[key] !== undefined) return;
    const bytes = await crane(['manifest', `${host}/${key}`], env);
    const digest = sha256(bytes);
    served.manifests[key] = digest;
    // crane digest asks the registry (HEAD): it must agree with the bytes it served.
    expect((await crane(['digest', `${host}/${key}`], env)).toString().trim()).toBe(digest);
    const parsed = JSON.parse(bytes.toString()) as Manifest;
    for (const child of parsed.manifests ?? []) await manifest(repo, child.digest);
    for (const blob of [...(parsed.config === undefined ? [] : [parsed.config]), ...(parsed.layers ?? [])]) {
      const ref = `${repo}@${blob.digest}`;
      served.blobs[ref] ??= sha256(await crane(['blob', `${host}/${ref}`], env));
    }
  };
  for (const repo of repositories) {
    const tags = (await crane(['ls', `${host}/${repo}`], env)).toString().split('\n').filter(Boolean).sort();
    served.tags[repo] = tags;
    for (const tag of tags) {
      await manifest(repo, tag);
      // The full pull path too: crane fetches and re-digests every layer.
      await crane(['validate', '--remote', `${host}/${repo}:${tag}`], env);
    }
  }
  return served;
}

/** `crane pull` of the references into an OCI layout: every blob file must hash to its name. */
export async function pullLayout(host: string, refs: string[], dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  const { crane } = await tools();
  await crane(['pull', '--format', 'oci', ...refs.map((ref) => `${host}/${ref}`), dir], env);
  const blobs = join(dir, 'blobs', 'sha256');
  const names = readdirSync(blobs);
  for (const name of names) expect(sha256(readFileSync(join(blobs, name)))).toBe(`sha256:${name}`);
  return names.length;
}

/** Upstream's garbage collector in dry-run mode: what it marks, and every line saying it would delete something. */
export async function garbageCollect(config: string, env: NodeJS.ProcessEnv): Promise<{ marked: number; deletable: string[]; output: string }> {
  const { registry } = await tools();
  const output = await registry(['garbage-collect', '--dry-run', config], env);
  const summary = /(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion/.exec(output);
  if (summary === null) throw new Error(`garbage-collect printed no summary:\n${output}`);
  const deletable = output.split('\n').filter((line) => /eligible for deletion:/.test(line));
  if (summary[2] !== '0' || summary[3] !== '0') deletable.unshift(summary[0]);
  return { marked: Number(summary[1]), deletable, output };
}

/**
 * Checks a registry layout on disk as a registry serving it would resolve each tag: the tag's
 * manifest revision and blob, and for each manifest its children (index), config and layers, each
 * with the repository's link. Returns the tags found and what is missing for them.
 */
export function checkTags(root: string): { tags: string[]; missing: string[] } {
  const v2 = join(root, 'docker', 'registry', 'v2');
  const repositories = join(v2, 'repositories');
  const found = { tags: [] as string[], missing: [] as string[] };
  if (!existsSync(repositories)) return found;
  const blob = (digest: string) => join(v2, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data');
  const need = (path: string, what: string): boolean => {
    if (existsSync(path)) return true;
    found.missing.push(what);
    return false;
  };
  const checkManifest = (repo: string, dir: string, digest: string, via: string): void => {
    const revision = need(join(dir, '_manifests', 'revisions', 'sha256', digest.slice(7), 'link'), `${via}: revision link of ${digest}`);
    if (!need(blob(digest), `${via}: manifest blob ${digest}`) || !revision) return;
    const parsed = JSON.parse(readFileSync(blob(digest), 'utf8')) as Manifest;
    for (const child of parsed.manifests ?? []) checkManifest(repo, dir, child.digest, `${via} → ${child.digest}`);
    for (const { digest: layer } of [...(parsed.config === undefined ? [] : [parsed.config]), ...(parsed.layers ?? [])]) {
      need(blob(layer), `${via}: blob ${layer}`);
      need(join(dir, '_layers', 'sha256', layer.slice(7), 'link'), `${via}: layer link of ${layer}`);
    }
  };
  const entries = readdirSync(repositories, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    const match = /^(.*)\/_manifests\/tags\/([^/]+)\/current\/link$/.exec(path);
    if (!entry.isFile() || match === null) continue;
    const repo = match[1]!.slice(repositories.length + 1);
    found.tags.push(`${repo}:${match[2]}`);
    checkManifest(repo, match[1]!, readFileSync(path, 'utf8').trim(), `${repo}:${match[2]}`);
  }
  return found;
}

/**
 * An HTTP proxy in front of `target` that holds back every request `stall` picks (until `release()`)
 * and forwards the rest unchanged, Host header included (so S3 signatures made for the proxy verify).
 */
export async function stallingProxy(target: string, stall: (method: string, url: string) => boolean): Promise<{ endpoint: string; held: () => number; release: () => void; close: () => Promise<void> }> {
  const upstream = new URL(target);
  let holding = true;
  const waiting: (() => void)[] = [];
  let held = 0;
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer((req, res) => {
    if (holding && stall(req.method ?? '', req.url ?? '')) {
      held++;
      waiting.push(() => forward(req, res));
    } else {
      forward(req, res);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    held: () => held,
    release: () => {
      holding = false;
      waiting.splice(0).forEach((go) => go());
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
