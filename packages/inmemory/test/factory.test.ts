import { InvalidParameterError, create, registeredDrivers } from '@storagedriver/core';

import { InMemoryDriver } from '../src/index.js';

test('importing the package registers "inmemory"; create gives a working driver of its own', async () => {
  expect(registeredDrivers()).toContain('inmemory');
  const first = await create('inmemory', {});
  const second = await create('inmemory', {});
  expect(first).toBeInstanceOf(InMemoryDriver);
  expect(first.name).toBe('inmemory');
  await first.putContent('/a', 'x');
  expect((await first.getContent('/a')).toString()).toBe('x');
  // Each instance is its own storage.
  await expect(second.getContent('/a')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND', driverName: 'inmemory' });
});

test('inmemory takes no parameters: any name is an InvalidParameterError', async () => {
  await expect(create('inmemory', { rootdirectory: '/x' })).rejects.toBeInstanceOf(InvalidParameterError);
});
