/**
 * Every declaration in src/librados.ts, cross-checked against the `rados` command-line tool (Ceph's
 * own client): what the FFI writes the CLI reads, and what the CLI writes the FFI reads. A wrong
 * signature would crash this process or garble bytes here, before any driver test runs.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { Cluster } from '../src/cluster.js';
import { ECANCELED, ENOENT, omapGet, omapPage, pendingCompletions, readInto, refGet, refPut, removeObject, writeFull, writeOp, type Pointer } from '../src/librados.js';
import { connection, omapValueByCli, radosCli } from './support/server.js';

const { conf, user, pool } = connection();
const cluster = new Cluster({ poolName: pool, userName: user, configFile: conf });
const use = <T>(fn: (io: Pointer) => Promise<T>): Promise<T> => cluster.use(fn);
const name = (label: string): string => `ffi-test:${label}:${randomUUID()}`;

afterAll(async () => {
  await cluster.close();
});


const omapKeysByCli = async (oid: string): Promise<string[]> => (await radosCli(['listomapkeys', oid])).toString().split('\n').filter(Boolean);

describe('librados through koffi, checked against the rados CLI', () => {
  test('rados_aio_write_full writes what `rados get` reads, and `rados stat` sees its size', async () => {
    const oid = name('write');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    expect((await use((io) => writeFull(io, oid, data))).rc).toBe(0);
    expect((await radosCli(['get', oid, '-'])).equals(data)).toBe(true);
    expect((await radosCli(['stat', oid])).toString()).toContain(`size ${data.length}`);
    // Replaces the whole object, as its name says.
    const shorter = randomBytes(100);
    await use((io) => writeFull(io, oid, shorter));
    expect((await radosCli(['get', oid, '-'])).equals(shorter)).toBe(true);
  });

  test('rados_aio_read reads what `rados put` wrote, at an offset, and reports ENOENT for a missing object', async () => {
    const oid = name('read');
    const data = randomBytes(1024 * 1024 + 3);
    await radosCli(['put', oid, '-'], { input: data });
    const whole = Buffer.alloc(data.length + 10);
    expect((await use((io) => readInto(io, oid, whole, 0))).rc).toBe(data.length);
    expect(whole.subarray(0, data.length).equals(data)).toBe(true);
    const part = Buffer.alloc(1000);
    expect((await use((io) => readInto(io, oid, part, 5000))).rc).toBe(1000);
    expect(part.equals(data.subarray(5000, 6000))).toBe(true);
    expect((await use((io) => readInto(io, name('missing'), Buffer.alloc(1), 0))).rc).toBe(ENOENT);
  });

  test('rados_aio_remove removes what `rados ls` listed; removing it again is ENOENT', async () => {
    const oid = name('remove');
    await radosCli(['put', oid, '-'], { input: Buffer.from('x') });
    expect((await radosCli(['ls'])).toString()).toContain(oid);
    expect((await use((io) => removeObject(io, oid))).rc).toBe(0);
    expect((await radosCli(['ls'])).toString()).not.toContain(oid);
    expect((await use((io) => removeObject(io, oid))).rc).toBe(ENOENT);
  });

  test('write ops: create + omap_set are read back by `rados getomapval`; omap_rm_keys by `rados listomapkeys`', async () => {
    const oid = name('omap');
    const set: Array<[string, string]> = [['a', '{"x":1}'], ['b', ''], ['c d', 'value with spaces'], ['é', 'ünïcode']];
    expect((await use((io) => writeOp(io, oid, { create: true, set }))).rc).toBe(0);
    for (const [key, value] of set) expect(await omapValueByCli(oid, key)).toBe(value);
    expect((await use((io) => writeOp(io, oid, { remove: ['a', 'c d'] }))).rc).toBe(0);
    expect((await omapKeysByCli(oid)).sort()).toEqual(['b', 'é']);
    // Without create, a write op on a missing object that only removes keys is ENOENT.
    expect((await use((io) => writeOp(io, name('none'), { remove: ['a'] }))).rc).toBe(ENOENT);
  });

  test('read ops: omap_get_vals2 pages (pmore, start_after, filter_prefix) through what `rados setomapval` wrote', async () => {
    const oid = name('pages');
    const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'x1'];
    for (const key of keys) await radosCli(['setomapval', oid, key, `v-${key}`]);
    const first = await use((io) => omapPage(io, oid, '', 2));
    expect(first.rc).toBe(0);
    expect(first.entries).toEqual([{ key: 'k1', value: 'v-k1' }, { key: 'k2', value: 'v-k2' }]);
    expect(first.more).toBe(true);
    const rest = await use((io) => omapPage(io, oid, 'k2', 100));
    expect(rest.entries.map((e) => e.key)).toEqual(['k3', 'k4', 'k5', 'x1']);
    expect(rest.more).toBe(false);
    const prefixed = await use((io) => omapPage(io, oid, '', 100, 'x'));
    expect(prefixed.entries).toEqual([{ key: 'x1', value: 'v-x1' }]);
    expect((await use((io) => omapPage(io, name('none'), '', 10))).rc).toBe(ENOENT);
  });

  test('read ops: omap_get_vals_by_keys2 returns the values asked for, leaving absent keys out', async () => {
    const oid = name('bykeys');
    await radosCli(['setomapval', oid, 'one', '1']);
    await radosCli(['setomapval', oid, 'two', '22']);
    const { rc, entries } = await use((io) => omapGet(io, oid, ['two', 'three']));
    expect(rc).toBe(0);
    expect(entries).toEqual([{ key: 'two', value: '22' }]);
    expect((await use((io) => omapGet(io, name('none'), ['one']))).rc).toBe(ENOENT);
  });

  test('omap_cmp: an equal value lets the op through; a different one is ECANCELED and changes nothing; "" stands for an absent key', async () => {
    const oid = name('cmp');
    await radosCli(['setomapval', oid, 'entry', 'old']);
    expect((await use((io) => writeOp(io, oid, { compare: [['entry', 'other']], set: [['entry', 'new'], ['side', 's']] }))).rc).toBe(ECANCELED);
    expect(await omapValueByCli(oid, 'entry')).toBe('old');
    expect(await omapValueByCli(oid, 'side')).toBeUndefined();
    expect((await use((io) => writeOp(io, oid, { compare: [['entry', 'old']], set: [['entry', 'new']] }))).rc).toBe(0);
    expect(await omapValueByCli(oid, 'entry')).toBe('new');
    expect((await use((io) => writeOp(io, oid, { compare: [['absent', '']], set: [['absent', 'now']] }))).rc).toBe(0);
    expect((await use((io) => writeOp(io, oid, { compare: [['absent', '']], set: [['absent', 'again']] }))).rc).toBe(ECANCELED);
    expect(await omapValueByCli(oid, 'absent')).toBe('now');
    // On a missing object, create first makes the comparison with "absent" hold.
    const fresh = name('cmp-fresh');
    expect((await use((io) => writeOp(io, fresh, { create: true, compare: [['k', '']], set: [['k', 'v']] }))).rc).toBe(0);
    expect(await omapValueByCli(fresh, 'k')).toBe('v');
  });

  test('omap_cmp "present" (greater than ""): a key that is there lets the op through; an absent key is ECANCELED and changes nothing; on a missing object, ENOENT', async () => {
    const oid = name('present');
    await radosCli(['setomapval', oid, 'there', 'v']);
    expect((await use((io) => writeOp(io, oid, { present: ['there'], set: [['there', 'v2']] }))).rc).toBe(0);
    expect(await omapValueByCli(oid, 'there')).toBe('v2');
    expect((await use((io) => writeOp(io, oid, { present: ['gone'], set: [['gone', 'v']] }))).rc).toBe(ECANCELED);
    expect(await omapValueByCli(oid, 'gone')).toBeUndefined();
    const missing = name('present-missing');
    expect((await use((io) => writeOp(io, missing, { present: ['k'], set: [['k', 'v']] }))).rc).toBe(ENOENT);
    await expect(radosCli(['stat', missing])).rejects.toThrow(/No such file or directory/);
  });

  test('assert_version + remove: a stale version is refused and the object stays; the current one removes it (`rados stat` fails)', async () => {
    const oid = name('version');
    await radosCli(['setomapval', oid, 'k', 'v']);
    const { version } = await use((io) => omapPage(io, oid, '', 1));
    expect(version).toBeGreaterThan(0n);
    await radosCli(['setomapval', oid, 'k2', 'v2']);
    const stale = await use((io) => writeOp(io, oid, { assertVersion: version, removeObject: true }));
    expect(stale.rc).toBeLessThan(0);
    expect((await radosCli(['stat', oid])).toString()).toContain(oid);
    const { version: current } = await use((io) => omapPage(io, oid, '', 1));
    expect((await use((io) => writeOp(io, oid, { assertVersion: current, removeObject: true }))).rc).toBe(0);
    await expect(radosCli(['stat', oid])).rejects.toThrow(/No such file or directory/);
  });

  test('write_op_exec of cls_refcount: `get` adds a tag `rados getxattr` shows; the object stays until `put` dropped the implicit reference and every tag (`rados stat` fails then)', async () => {
    const oid = name('refs');
    const data = randomBytes(5000);
    await radosCli(['put', oid, '-'], { input: data });
    expect((await use((io) => refGet(io, oid, 'copy-1'))).rc).toBe(0);
    expect((await radosCli(['getxattr', oid, 'refcount'])).toString('latin1')).toContain('copy-1');
    // The writer's implicit reference goes; the tagged one keeps the bytes.
    expect((await use((io) => refPut(io, oid, ''))).rc).toBe(0);
    expect((await radosCli(['get', oid, '-'])).equals(data)).toBe(true);
    // Dropping the same reference again changes nothing (the class remembers retired tags).
    expect((await use((io) => refPut(io, oid, ''))).rc).toBe(0);
    expect((await radosCli(['get', oid, '-'])).equals(data)).toBe(true);
    expect((await use((io) => refPut(io, oid, 'copy-1'))).rc).toBe(0);
    await expect(radosCli(['stat', oid])).rejects.toThrow(/No such file or directory/);
    expect((await use((io) => refGet(io, oid, 'copy-2'))).rc).toBe(ENOENT);
  });

  test('completions: 32 parallel operations all complete, and nothing stays pending on the context', async () => {
    const oids = Array.from({ length: 32 }, (_, i) => name(`par${i}`));
    const results = await Promise.all(oids.map((oid, i) => use((io) => writeFull(io, oid, Buffer.alloc(64 * 1024, i)))));
    expect(results.every((r) => r.rc === 0)).toBe(true);
    expect(await use(async (io) => pendingCompletions(io))).toBe(0);
    expect(pendingCompletions()).toBe(0);
    for (const oid of oids) await use((io) => removeObject(io, oid));
  });

  test('the limited user\'s caps hold (EPERM in another pool), and a missing pool fails at connection', async () => {
    const rgw = new Cluster({ poolName: '.rgw.root', userName: user, configFile: conf });
    expect((await rgw.use((io) => writeFull(io, name('denied'), Buffer.from('x')))).rc).toBe(-1);
    await rgw.close();
    const missing = new Cluster({ poolName: 'no-such-pool-here', userName: user, configFile: conf });
    await expect(missing.use(async () => undefined)).rejects.toThrow(/no such pool/);
    await missing.close();
  });
});
