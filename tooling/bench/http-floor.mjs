// The cheapest small-object exchange a Node client can make: `node:http` on a keep-alive agent (LIFO,
// one socket per request in flight) sending requests whose URLs and headers were made before the
// timed loop (presigned, or carrying a fixed token), the body gathered into one Buffer. No signing,
// retries, abort handling or error mapping. Measured beside a driver against the same server in the
// same run, its client CPU per request is the floor for any driver on Node's HTTP/1.1 client.
import { Agent, request } from 'node:http';

export const FLOOR_DESCRIPTION = 'http floor: node:http on a keep-alive agent sending requests prepared before the timed loop (no signing, retries or abort handling), the body gathered into one Buffer';

/** GET and upload (PUT, or the method given) of a whole small body through `send`. */
function smallObjectRequests(send) {
  return {
    get: (url, headers = {}) => send('GET', url, headers),
    put: (url, headers, body, method = 'PUT') => send(method, url, { ...headers, 'content-length': String(body.length) }, body),
  };
}

export function httpFloor(sockets = 16) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' });
  const send = (method, url, headers, body) =>
    new Promise((resolve, reject) => {
      const req = request(url, { method, headers, agent }, (res) => {
        const chunks = [];
        let length = 0;
        res.on('data', (chunk) => {
          chunks.push(chunk);
          length += chunk.length;
        });
        res.on('end', () => {
          if (res.statusCode >= 300) reject(new Error(`${method} ${url}: HTTP ${res.statusCode} ${Buffer.concat(chunks, length).toString().slice(0, 300)}`));
          else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return smallObjectRequests(send);
}

/** The same floor on undici's Pool (one connection per request in flight), for the HTTP client's share. */
export function undiciFloor(Pool, origin, connections = 16) {
  const pool = new Pool(origin, { connections });
  const send = async (method, url, headers, body) => {
    const { pathname, search } = new URL(url);
    const response = await pool.request({ method, path: pathname + search, headers, body });
    const chunks = [];
    let length = 0;
    for await (const chunk of response.body) {
      chunks.push(chunk);
      length += chunk.length;
    }
    if (response.statusCode >= 300) throw new Error(`${method} ${url}: HTTP ${response.statusCode} ${Buffer.concat(chunks, length).toString().slice(0, 300)}`);
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
  };
  return smallObjectRequests(send);
}

/**
 * One line per small-object operation comparing client CPU per request: the driver's, the floor's
 * and OpenDAL's (when measured), with what the driver spends above the floor.
 */
export function floorNotes(cells, cellMedians, floor = 'http floor') {
  const cpu = (operation, subject) => {
    const cell = cells.find((c) => c.operation === operation && c.subject === subject);
    return cell && cellMedians(cell).cpuMicrosPerOp;
  };
  const operations = [...new Set(cells.filter((c) => c.subject === floor).map((c) => c.operation))];
  const lines = operations.flatMap((operation) => {
    const [driver, base, opendal] = [cpu(operation, 'driver'), cpu(operation, floor), cpu(operation, 'opendal')];
    if (driver === undefined || base === undefined) return [];
    const versus = opendal === undefined ? '' : `, opendal ${opendal.toFixed(0)} µs (the floor is ${(base / opendal).toFixed(2)}× opendal's)`;
    return [`${operation}: client CPU per request — driver ${driver.toFixed(0)} µs, ${floor} ${base.toFixed(0)} µs${versus}; the driver spends ${(driver - base).toFixed(0)} µs (${((driver / base - 1) * 100).toFixed(0)} %) above the floor.`];
  });
  return lines.length === 0 ? [] : [`Client CPU against the ${floor} (the median of each cell's runs):`, ...lines];
}
