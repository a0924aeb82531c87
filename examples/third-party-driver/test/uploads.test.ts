import { PathNotFoundError } from '@storagedriver/core';

import { KeyValueDriver, KeyValueStore } from '../src/index.js';

test('finishing one writer leaves another writer’s upload on the same path resumable', async () => {
  const store = new KeyValueStore();
  const driver = new KeyValueDriver({ store });
  const older = await driver.writer('/p');
  await older.write('older');
  const newer = await driver.writer('/p');
  await newer.write('newer');
  await newer.close();
  await older.cancel();
  const resumed = await new KeyValueDriver({ store }).writer('/p', { append: true });
  expect(resumed.size).toBe(5);
  await resumed.write('!');
  await resumed.commit();
  expect((await driver.getContent('/p')).toString()).toBe('newer!');
  await expect(driver.writer('/p', { append: true }).then((w) => w.size)).resolves.toBe(6);
});

test('an uncommitted upload makes no directory visible, even through a driver rooted above', async () => {
  const store = new KeyValueStore();
  const inner = new KeyValueDriver({ store, rootDirectory: 'r/inner' });
  const outer = new KeyValueDriver({ store, rootDirectory: 'r' });
  const writer = await inner.writer('/fresh/sub/obj');
  await writer.write('x');
  await writer.close();
  for (const [driver, dir] of [[inner, '/fresh'], [outer, '/inner']] as const) {
    await expect(driver.stat(dir)).rejects.toBeInstanceOf(PathNotFoundError);
    expect(await driver.list('/')).toEqual([]);
    const walked: string[] = [];
    await driver.walk('/', (info) => void walked.push(info.path));
    expect(walked).toEqual([]);
  }
  await (await inner.writer('/fresh/sub/obj', { append: true })).commit();
  expect(await outer.list('/')).toEqual(['/inner']);
});
