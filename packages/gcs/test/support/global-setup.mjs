import { start } from '../../../../tooling/servers/fake-gcs.mjs';

export default async function globalSetup() {
  const server = await start();
  globalThis.__FAKE_GCS__ = server;
  process.env.GCS_TEST_ENDPOINT = server.endpoint;
}
