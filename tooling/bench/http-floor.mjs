// Small-object exchanges with nothing but HTTP: requests whose URLs and headers were made before the
// timed loop (presigned, or carrying a fixed token), the body gathered into one Buffer; no signing,
// retries, abort handling or error mapping. Sent on `node:http` (a keep-alive agent, LIFO, one socket
// per request in flight), on undici's Pool or on core's HttpClient. Measured beside a driver against
// the same server in the same run, each one's client CPU per request is what that HTTP client alone
// costs, so the driver's excess over its own client is its own work.
import { Agent, request } from 'node:http';

export const CLIENT_FLOOR_DESCRIPTION = "client floor: the same prepared requests on core's HttpClient, the drivers' own transport, with nothing on top.";

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

/** The whole body of an answer as one Buffer; a status of 300 or more is an error with the body's start. */
async function bodyOf(method, url, statusCode, body) {
  const chunks = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    length += chunk.length;
  }
  if (statusCode >= 300) throw new Error(`${method} ${url}: HTTP ${statusCode} ${Buffer.concat(chunks, length).toString().slice(0, 300)}`);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
}

/**
 * The same floor on core's HttpClient, the drivers' own transport (pass the class: this file is outside
 * the packages). What a driver spends above it is its own signing, retries, abort and error handling.
 */
export function clientFloor(HttpClient, origin) {
  const prefix = new URL(origin).origin;
  const client = new HttpClient(prefix);
  const send = async (method, url, headers, body) => {
    if (!url.startsWith(prefix)) throw new Error(`${url} is not on ${prefix}`);
    const response = await client.request({ method, path: url.slice(prefix.length), headers, body: body === undefined ? [] : [body] }, { connectTimeoutMs: 10_000, driverName: 'bench' });
    return bodyOf(method, url, response.statusCode, response);
  };
  return smallObjectRequests(send);
}

/** The same floor on undici's Pool (one connection per request in flight), for the HTTP client's share. */
export function undiciFloor(Pool, origin, connections = 16) {
  const pool = new Pool(origin, { connections });
  const send = async (method, url, headers, body) => {
    const { pathname, search } = new URL(url);
    const response = await pool.request({ method, path: pathname + search, headers, body });
    return bodyOf(method, url, response.statusCode, response.body);
  };
  return smallObjectRequests(send);
}

/**
 * One line per small-object operation comparing client CPU per request: the driver's against its own
 * transport with nothing on top (the client floor, when measured), node:http's floor and OpenDAL's.
 */
export function floorNotes(cells, cellMedians) {
  const cpu = (operation, subject) => {
    const cell = cells.find((c) => c.operation === operation && c.subject === subject);
    return cell && cellMedians(cell).cpuMicrosPerOp;
  };
  const operations = [...new Set(cells.filter((c) => c.subject.endsWith(' floor')).map((c) => c.operation))];
  const µs = (value) => `${value.toFixed(0)} µs`;
  const lines = operations.flatMap((operation) => {
    const driver = cpu(operation, 'driver');
    if (driver === undefined) return [];
    const measured = ['client floor', 'http floor', 'undici floor', 'opendal'].flatMap((subject) => {
      const value = cpu(operation, subject);
      return value === undefined ? [] : [`${subject} ${µs(value)}`];
    });
    const own = cpu(operation, 'client floor');
    const excess = own === undefined ? 0 : driver - own;
    const above = own === undefined ? '' : excess >= 0 ? `; the driver's own work (requests built and signed, retries, abort and error handling) costs ${µs(excess)} above its client` : `; the driver measured ${µs(-excess)} below its own client, within the runs' spread`;
    return [`${operation}: client CPU per request — driver ${µs(driver)}, ${measured.join(', ')}${above}.`];
  });
  return lines.length === 0 ? [] : ["Client CPU per request (the median of each cell's runs):", ...lines];
}
