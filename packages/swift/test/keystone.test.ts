/**
 * Opt-in (SWIFT_TEST_KEYSTONE=1, after `apt-get install -y --no-install-recommends keystone`): the
 * Keystone v3 path end to end against a real Keystone — password auth scoped to a project, the
 * catalog's object-store endpoint chosen by region and interface — in front of a Ceph RGW of its own
 * that validates the tokens with Keystone. Not in CI: Keystone costs about 1.5 min to install and start.
 */
import { PathNotFoundError } from '@storagedriver/core';

import { SwiftDriver, parseSwiftParameters } from '../src/index.js';

const enabled = process.env.SWIFT_TEST_KEYSTONE === '1';

interface Started {
  endpoint: string;
  authUrl: string;
  stop: () => Promise<void>;
}

(enabled ? describe : describe.skip)('Keystone v3 in front of Ceph RGW (opt-in)', () => {
  let keystone: Started | undefined;
  let rgw: { endpoint: string; stop: () => Promise<void> } | undefined;
  let adminPassword = '';

  beforeAll(async () => {
    const support = await import('./support/keystone.mjs');
    adminPassword = support.ADMIN_PASSWORD;
    keystone = await support.start();
    rgw = await support.startCephWithKeystone(keystone.endpoint);
    await support.registerObjectStore(keystone.endpoint, `${rgw.endpoint}/swift/v1`);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([rgw?.stop(), keystone?.stop()]);
  });

  test('password auth scoped to a project gives a token and the catalog endpoint; the driver stores, lists and deletes through it', async () => {
    const driver = new SwiftDriver(parseSwiftParameters({
      authurl: keystone!.authUrl, username: 'admin', password: adminPassword, domain: 'Default',
      tenant: 'admin', tenantdomain: 'Default', region: 'RegionOne', endpointtype: 'internal', container: 'keystone-test', chunksize: '1MiB',
    }));
    await driver.putContent('/a/small', 'via keystone');
    const writer = await driver.writer('/a/large');
    await writer.write(Buffer.alloc(2 * 1024 * 1024 + 3, 5));
    await writer.commit();
    expect((await driver.getContent('/a/small')).toString()).toBe('via keystone');
    expect((await driver.stat('/a/large')).size).toBe(2 * 1024 * 1024 + 3);
    expect((await driver.list('/a')).sort()).toEqual(['/a/large', '/a/small']);
    await driver.delete('/a');
    await expect(driver.stat('/a')).rejects.toBeInstanceOf(PathNotFoundError);
  });

  test('a wrong password is refused by Keystone, typed', async () => {
    const driver = new SwiftDriver(parseSwiftParameters({ authurl: keystone!.authUrl, username: 'admin', password: 'wrong', tenant: 'admin', container: 'keystone-test' }));
    await expect(driver.stat('/x')).rejects.toMatchObject({ code: 'DRIVER_ERROR', cause: { status: 401 } });
  });
});
