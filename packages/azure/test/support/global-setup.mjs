import { start } from '../../../../tooling/servers/azurite.mjs';

export default async function globalSetup() {
  // The second, without TLS, is for what differs on a plain http:// endpoint.
  const [server, plain] = await Promise.all([start(), start({ tls: false })]);
  globalThis.__AZURITE__ = [server, plain];
  process.env.AZURE_TEST_ENDPOINT = server.endpoint;
  process.env.AZURE_TEST_ACCOUNT = server.accountName;
  process.env.AZURE_TEST_KEY = server.accountKey;
  process.env.AZURE_TEST_CA = server.ca;
  process.env.AZURE_TEST_PLAIN_ENDPOINT = plain.endpoint;
}
