import { Readable } from 'node:stream';

import { InvalidOffsetError, readAll, readResponse, readerAtEnd, toBuffer } from '../src/index.js';
import { BODY_ARRIVED } from '../src/stream.js';

test('readerAtEnd: exactly at the size is an empty stream, beyond it InvalidOffsetError with the refusal as cause', async () => {
  expect((await readAll(readerAtEnd('/a', 10, 10))).length).toBe(0);
  const refusal = new Error('416');
  let thrown: unknown;
  try {
    readerAtEnd('/a', 11, 10, refusal);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidOffsetError);
  expect(thrown).toMatchObject({ code: 'INVALID_OFFSET', path: '/a', offset: 11, cause: refusal });
});

test('toBuffer reads strings as UTF-8 and views without copying', () => {
  expect(toBuffer('é').equals(Buffer.from([0xc3, 0xa9]))).toBe(true);
  const bytes = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
  const buffer = toBuffer(bytes);
  expect([...buffer]).toEqual([2, 3]);
  expect(buffer.buffer).toBe(bytes.buffer);
});

test('readResponse takes a body whose last byte arrived (as HttpResponse marks it) from the stream at once, in every chunk, adding no listener; a body still arriving is read to its end', async () => {
  const arrived = Object.assign(new Readable({ read() {} }), { [BODY_ARRIVED]: true });
  arrived.push(Buffer.from('ab'));
  arrived.push(Buffer.from('cd'));
  arrived.push(null);
  const read = readResponse(arrived, 1000);
  expect(['data', 'end', 'error', 'close'].map((event) => arrived.listenerCount(event))).toEqual([0, 0, 0, 0]);
  expect((await read).toString()).toBe('abcd');
  // Deno's read() gives one chunk a call where Node's gives the whole buffer.
  const chunkwise = Object.assign(
    new (class extends Readable {
      override read(): Buffer | null {
        return super.read(Math.min(2, this.readableLength)) as Buffer | null;
      }
    })({ read() {} }),
    { [BODY_ARRIVED]: true },
  );
  chunkwise.push(Buffer.from('ef'));
  chunkwise.push(Buffer.from('gh'));
  chunkwise.push(null);
  expect((await readResponse(chunkwise, 1000)).toString()).toBe('efgh');
  const empty = Object.assign(new Readable({ read() {} }), { [BODY_ARRIVED]: true });
  empty.push(null);
  expect((await readResponse(empty, 1000)).length).toBe(0);
  const arriving = new Readable({ read() {} });
  const later = readResponse(arriving, 1000);
  arriving.push(Buffer.from('ef'));
  setImmediate(() => {
    arriving.push(Buffer.from('gh'));
    arriving.push(null);
  });
  expect((await later).toString()).toBe('efgh');
});
