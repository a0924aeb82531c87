// `pnpm demo`: stores and reads files through the filesystem driver, the way an application would,
// under ./storage/demo in the working directory, and prints what happened.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { resolve } from 'node:path';

import { PathNotFoundError, create, walkEntries } from '../../packages/core/dist/esm/index.js';
import '../../packages/filesystem/dist/esm/index.js';

const root = resolve('storage');
const driver = await create('filesystem', { rootdirectory: root });
const say = (line) => console.log(line);

await driver.delete('/demo').catch((error) => {
  if (!(error instanceof PathNotFoundError)) throw error;
});

await driver.putContent('/demo/hello.txt', 'Hello from storagedriver!\n');
say(`putContent /demo/hello.txt → getContent: ${JSON.stringify((await driver.getContent('/demo/hello.txt')).toString())}`);

// 64 MiB streamed through a resumable writer: written in two sessions, committed at the end.
const chunk = () => randomBytes(1024 * 1024);
const hash = createHash('sha256');
const source = (count) => Readable.from((function* () { for (let i = 0; i < count; i++) { const c = chunk(); hash.update(c); yield c; } })());
let writer = await driver.writer('/demo/big.bin');
await pipeline(source(32), writer.writable());
await writer.close();
say(`writer: 32 MiB written and closed (not yet visible: ${await driver.stat('/demo/big.bin').then(() => 'visible', () => 'not found')})`);
writer = await driver.writer('/demo/big.bin', { append: true });
say(`writer resumed with append at ${writer.size} bytes`);
await pipeline(source(32), writer.writable());
await writer.commit();
const stored = createHash('sha256');
await pipeline(await driver.reader('/demo/big.bin'), stored);
say(`committed ${(await driver.stat('/demo/big.bin')).size} bytes; sha256 matches what was written: ${stored.digest('hex') === hash.digest('hex')}`);

await driver.move('/demo/hello.txt', '/demo/docs/hello.txt');
say(`move → list /demo: ${JSON.stringify((await driver.list('/demo')).sort())}`);
for await (const info of walkEntries(driver, '/demo')) say(`walk: ${info.isDir ? 'dir ' : 'file'} ${info.path}${info.isDir ? '' : ` (${info.size} bytes)`}`);
const missing = await driver.getContent('/demo/nope').catch((error) => error);
say(`getContent of a missing path → ${missing.constructor.name} (${missing.code}): ${missing.message}`);
const invalid = await driver.getContent('/demo/../etc/passwd').catch((error) => error);
say(`a path with ".." → ${invalid.constructor.name}: ${invalid.message}`);
say(`files are under ${root}/demo`);
