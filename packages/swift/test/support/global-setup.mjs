import * as ceph from '../../../../tooling/servers/ceph-rgw.mjs';
import * as openstackSwift from '../../../../tooling/servers/openstack-swift.mjs';

export default async function globalSetup() {
  if (process.env.CI === 'true') await Promise.all([ceph.ensureInstalled(), openstackSwift.ensureInstalled()]);
  const [rgw, swift] = await Promise.allSettled([ceph.start(), openstackSwift.start()]);
  if (rgw.status === 'rejected' || swift.status === 'rejected') {
    await Promise.all([rgw, swift].map((started) => (started.status === 'fulfilled' ? started.value.stop() : undefined)));
    throw rgw.status === 'rejected' ? rgw.reason : swift.reason;
  }
  globalThis.__SWIFT_SERVERS__ = [rgw.value, swift.value];
  process.env.SWIFT_TEST_SERVERS = JSON.stringify({
    rgw: { authurl: rgw.value.swift.authUrl, username: rgw.value.swift.user, password: rgw.value.swift.key },
    swift: { authurl: swift.value.authUrl, username: swift.value.user, password: swift.value.key },
  });
}
