/**
 * The registry round trip: upstream's registry (v3.1.2, built by tooling/servers/registry.mjs) stores
 * images pushed by crane, the CLI syncs that storage to another backend, and upstream serves it from
 * there: every tag, manifest and blob read back and re-hashed, and upstream's garbage collector finds
 * nothing to delete. Also: a sync of registry storage killed, or failing, midway leaves a destination
 * on which every tag that arrived is served whole.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { azureConfig, s3Config } from './support/backends.js';
import { checkTags, fsConfig, garbageCollect, layerTar, pullLayout, readServed, stallingProxy, tools, type Served } from './support/registry.js';
import { filesBelow, json, run, start, tempDir } from './support/run.js';

const MiB = 1024 * 1024;
const REPOSITORIES = ['app/web', 'lib/base'];

let dir = '';
/** For every Go process: trust Azurite's certificate, and no credentials from the user's docker config. */
let goEnv: NodeJS.ProcessEnv = {};
/** For the CLI: the same certificate (its Azure config verifies TLS, as upstream's does). */
let cliEnv: NodeJS.ProcessEnv = {};
let layers: string[] = [];

/** Registries running now: a test that times out leaves its registry to afterAll. */
const running = new Set<{ stop(): Promise<void> }>();

async function withRegistry<T>(config: string, use: (host: string) => Promise<T>): Promise<T> {
  const { startRegistry } = await tools();
  const server = await startRegistry(config, goEnv);
  running.add(server);
  try {
    return await use(server.host);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nregistry output:\n${server.output().slice(-4000)}`, { cause: error });
  } finally {
    running.delete(server);
    await server.stop();
  }
}

afterAll(async () => {
  await Promise.all([...running].map((server) => server.stop()));
});

/** Two images sharing layers in one repository, a tag of each, an index of both, and a copy in a second repository. */
async function push(host: string, [first, second, third]: string[]): Promise<void> {
  const { crane } = await tools();
  await crane(['append', '-f', first!, '-f', second!, '-t', `${host}/app/web:v1`], goEnv);
  await crane(['append', '-b', `${host}/app/web:v1`, '-f', third!, '-t', `${host}/app/web:v2`], goEnv);
  await crane(['tag', `${host}/app/web:v1`, 'stable'], goEnv);
  await crane(['copy', `${host}/app/web:v2`, `${host}/lib/base:1.0`], goEnv);
  await crane(['index', 'append', '-m', `${host}/app/web:v1`, '-m', `${host}/app/web:v2`, '-t', `${host}/app/web:multi`], goEnv);
}

async function sync(from: string, to: string): Promise<void> {
  const result = await run(['sync', '--from-config', from, '--to-config', to, '--json'], { env: cliEnv });
  expect({ code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
  const summary = json(result);
  expect(summary).toMatchObject({ failed: [], skipped: 0 });
  expect(summary.copied).toBe(summary.files);
}

/** Upstream on `config` serves exactly `expected`, pulls whole, and its garbage collector would delete nothing. */
async function expectServed(config: string, expected: Served, name: string): Promise<void> {
  const served = await withRegistry(config, async (host) => {
    const result = await readServed(host, REPOSITORIES, goEnv);
    expect(await pullLayout(host, ['app/web:multi', 'lib/base:1.0'], join(dir, `${name}-pulled`), goEnv)).toBe(8);
    return result;
  });
  expect(served).toEqual(expected);
  const gc = await garbageCollect(config, goEnv);
  expect(gc.deletable).toEqual([]);
  // 3 layers, 2 configs, 2 image manifests and the index.
  expect(gc.marked).toBe(8);
}

beforeAll(async () => {
  // The one-off `go install` of both tools takes ~2 minutes on a fresh machine; then it is a version check.
  await (await tools()).ensureInstalled();
  dir = tempDir('registry');
  const ca = join(dir, 'azurite-ca.pem');
  writeFileSync(ca, process.env.AZURE_TEST_CA!);
  goEnv = { SSL_CERT_FILE: ca, DOCKER_CONFIG: join(dir, 'docker') };
  cliEnv = { NODE_EXTRA_CA_CERTS: ca };
  layers = [
    layerTar(dir, 'l1', [{ name: 'big', size: 6 * MiB + 1, seed: 1 }, { name: 'small', size: 1000, seed: 2 }]),
    layerTar(dir, 'l2', [{ name: 'middle', size: 200 * 1024, seed: 3 }]),
    layerTar(dir, 'l3', [{ name: 'more', size: MiB, seed: 4 }]),
  ];
}, 20 * 60_000);

describe('filesystem → S3 and Azure', () => {
  let source = '';
  let expected: Served;

  beforeAll(async () => {
    source = fsConfig(dir, 'source', join(dir, 'source'));
    expected = await withRegistry(source, async (host) => {
      await push(host, layers);
      return readServed(host, REPOSITORIES, goEnv);
    });
    expect(expected.tags).toEqual({ 'app/web': ['multi', 'stable', 'v1', 'v2'], 'lib/base': ['1.0'] });
    expect((await garbageCollect(source, goEnv)).deletable).toEqual([]);
  }, 120_000);

  test('upstream on S3 (Ceph RGW) serves what the CLI synced from upstream\'s filesystem storage', async () => {
    const destination = await s3Config(dir, '/registry');
    await sync(source, destination);
    await expectServed(destination, expected, 's3');
  }, 120_000);

  test('upstream on Azure (Azurite, TLS verified) serves what the CLI synced from upstream\'s filesystem storage', async () => {
    const file = await azureConfig(dir);
    // Verified TLS on both sides: Go trusts Azurite's certificate through SSL_CERT_FILE, the CLI through NODE_EXTRA_CA_CERTS.
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('    skipverify: true\n');
    writeFileSync(file, text.replace('    skipverify: true\n', ''));
    await sync(source, file);
    await expectServed(file, expected, 'azure');
  }, 120_000);
});

describe('S3 → filesystem', () => {
  let source = '';
  let expected: Served;
  /** The first layer of every image pushed: each tag names it. */
  let layer = '';

  beforeAll(async () => {
    source = await s3Config(dir, '/pushed');
    expected = await withRegistry(source, async (host) => {
      await push(host, layers);
      const { crane } = await tools();
      layer = (JSON.parse((await crane(['manifest', `${host}/app/web:v1`], goEnv)).toString()) as { layers: { digest: string }[] }).layers[0]!.digest;
      return readServed(host, REPOSITORIES, goEnv);
    });
  }, 120_000);

  test('upstream on the filesystem serves what the CLI synced from upstream\'s S3 storage', async () => {
    const destination = fsConfig(dir, 'from-s3', join(dir, 'from-s3'));
    await sync(source, destination);
    await expectServed(destination, expected, 'from-s3');
  }, 120_000);

  /**
   * The CLI reads the source through a proxy that holds back chosen objects, so a copy is in flight
   * for as long as the test wants: the sync is killed then, and what arrived is checked as a
   * registry would resolve it. Copied in walk order, the links and tags listed after a held blob
   * arrive while it is in flight, and a tag names a layer the destination does not have.
   */
  async function killedWhileHeld(destination: string, root: string, held: (key: string) => boolean): Promise<string[]> {
    const proxy = await stallingProxy(process.env.S3_TEST_ENDPOINT!, (method, url) => method === 'GET' && held(url.split('?')[0]!));
    const viaProxy = join(dir, `via-proxy-${Date.now()}.yml`);
    writeFileSync(viaProxy, readFileSync(source, 'utf8').replace(`regionendpoint: ${process.env.S3_TEST_ENDPOINT}`, `regionendpoint: ${proxy.endpoint}`));
    const syncing = start(['sync', '--from-config', viaProxy, '--to-config', destination, '--json'], { env: cliEnv });
    try {
      // Until the held object is asked for and nothing else arrives for a second (or the run ends).
      const deadline = Date.now() + 60_000;
      let files = -1;
      let quietSince = Date.now();
      while (syncing.child.exitCode === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        let now = files;
        try {
          now = filesBelow(root).length;
        } catch {
          // not created yet, or a folder moved while listed: sample again
        }
        if (now !== files || proxy.held() === 0) [files, quietSince] = [now, Date.now()];
        else if (Date.now() - quietSince > 1000) break;
      }
      expect(proxy.held()).toBeGreaterThan(0);
      expect(syncing.child.exitCode).toBeNull();
    } finally {
      syncing.child.kill('SIGKILL');
      await syncing.done;
      await proxy.close();
    }
    const state = checkTags(root);
    expect(state.missing).toEqual([]);
    return state.tags.sort();
  }

  test('a sync of registry storage copies blobs, links, revisions, then tags: killed or failing midway, every tag that arrived is served whole', async () => {
    const root = join(dir, 'order');
    const destination = fsConfig(dir, 'order', root);
    const blobPath = `/blobs/sha256/${layer.slice(7, 9)}/${layer.slice(7)}/data`;

    // A layer in flight: nothing may name it yet, so no tag has arrived.
    expect(await killedWhileHeld(destination, root, (key) => key.endsWith(blobPath))).toEqual([]);

    // The tags step in flight (one tag held back): the tags that arrived are served whole.
    const tags = await killedWhileHeld(destination, root, (key) => key.endsWith('/app/web/_manifests/tags/v2/current/link'));
    expect(tags).toEqual(expect.arrayContaining(['app/web:v1', 'lib/base:1.0']));
    expect(tags).not.toContain('app/web:v2');
    await withRegistry(destination, async (host) => {
      const { crane } = await tools();
      for (const tag of tags) await crane(['validate', '--remote', `${host}/${tag}`], goEnv);
    });

    // A blob that cannot be written: the links and tags wait for it, the run fails and says so.
    const blocked = join(dir, 'blocked');
    const obstacle = join(blocked, 'docker', 'registry', 'v2', blobPath, 'in-the-way');
    mkdirSync(obstacle, { recursive: true });
    const failing = await run(['sync', '--from-config', source, '--to-config', fsConfig(dir, 'blocked', blocked), '--json'], { env: cliEnv });
    expect(failing.code).toBe(1);
    const summary = json(failing);
    expect(summary.failed).toEqual([{ path: `/docker/registry/v2${blobPath}`, error: expect.any(String) }]);
    expect(summary.heldBack).toBeGreaterThan(0);
    expect(checkTags(blocked)).toEqual({ tags: [], missing: [] });

    // The next run completes the killed one.
    const resumed = await run(['sync', '--from-config', source, '--to-config', destination, '--json'], { env: cliEnv });
    expect(json(resumed)).toMatchObject({ failed: [], heldBack: 0 });
    expect(checkTags(root)).toEqual({ tags: ['app/web:multi', 'app/web:stable', 'app/web:v1', 'app/web:v2', 'lib/base:1.0'], missing: [] });
  }, 150_000);
});
