import { start } from '../../../../tooling/servers/azurite.mjs';

export default async function globalSetup() {
  const server = await start();
  globalThis.__AZURITE__ = server;
  process.env.AZURE_TEST_ENDPOINT = server.endpoint;
  process.env.AZURE_TEST_ACCOUNT = server.accountName;
  process.env.AZURE_TEST_KEY = server.accountKey;
  process.env.AZURE_TEST_CA = server.ca;
}
