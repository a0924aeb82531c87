export default async function globalTeardown() {
  await globalThis.__FAKE_GCS__?.stop();
}
