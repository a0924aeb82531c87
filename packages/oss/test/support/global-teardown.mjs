export default async function globalTeardown() {
  await globalThis.__CEPH_RGW__?.stop();
}
