// The bytes on the wire: a fetch that keeps a copy of every response, and strict readers of the
// two stream framings the server speaks (SSE `data:` events and \x1E-terminated JSON records).
import { brief, expect, fail } from './harness.mjs';

/**
 * A `fetch` for the client libraries that records each exchange in `log`: method, path, status,
 * headers, the request body and (as the promise `bytes`) a copy of the whole response body.
 */
export function recordingFetch(log) {
  return async (input, init = {}) => {
    const exchange = {
      method: init.method ?? 'GET',
      path: new URL(input instanceof Request ? input.url : String(input)).pathname,
      requestBody: typeof init.body === 'string' ? init.body : undefined,
    };
    log.push(exchange);
    const response = await fetch(input, init);
    exchange.status = response.status;
    exchange.headers = response.headers;
    if (!response.body) {
      exchange.bytes = Promise.resolve(new Uint8Array());
      return response;
    }
    const [forClient, forCheck] = response.body.tee();
    exchange.bytes = new Response(forCheck).arrayBuffer().then(buffer => new Uint8Array(buffer));
    return new Response(forClient, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** The last recorded exchange whose path ends with `suffix`, its body fully read. */
export async function lastExchange(log, suffix) {
  const exchange = log.findLast(e => e.path.endsWith(suffix));
  expect(exchange, `no request to a path ending in ${suffix} was made`);
  exchange.body = await exchange.bytes;
  return exchange;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(bytes, what) {
  try {
    return decoder.decode(bytes);
  } catch {
    return fail(`${what}: the body is not valid UTF-8`);
  }
}

/**
 * The data of each SSE event in `bytes`, held to the framing both clients read without loss:
 * LF only, each event one `data: <text>` line followed by a blank line, `: comment` events
 * allowed, and the stream ends with `data: [DONE]` (not returned) and nothing after it.
 */
export function sseData(bytes, what) {
  const body = text(bytes, what);
  expect(!body.includes('\r'), `${what}: a "\\r" in the body (events are separated by "\\n\\n" only)`);
  const events = body.split('\n\n');
  const tail = events.pop();
  expect(tail === '', () => `${what}: the body does not end with a blank line; unterminated tail ${brief(tail)}`);
  const data = [];
  let done = false;
  for (const [i, event] of events.entries()) {
    if (event.startsWith(':')) continue;
    expect(!done, () => `${what}: event ${i} comes after "data: [DONE]": ${brief(event)}`);
    expect(event.startsWith('data: '), () => `${what}: event ${i} is not a "data: " line: ${brief(event)}`);
    expect(!event.includes('\n'), () => `${what}: event ${i} spans several lines: ${brief(event)}`);
    const payload = event.slice('data: '.length);
    if (payload === '[DONE]') done = true;
    else data.push(payload);
  }
  expect(done, `${what}: the stream does not end with "data: [DONE]"`);
  return data;
}

/** The JSON values in `bytes`, each followed by the record separator \x1E and nothing else. */
export function jsonRecords(bytes, what) {
  const records = text(bytes, what).split('\x1e');
  const tail = records.pop();
  expect(tail === '', () => `${what}: the body does not end with \\x1E; trailing ${brief(tail)}`);
  return records.map((record, i) => {
    try {
      return JSON.parse(record);
    } catch (error) {
      return fail(`${what}: record ${i} is not JSON (${error.message}): ${brief(record)}`);
    }
  });
}

/** Fail unless the response's media type is `type`. */
export function expectContentType(exchange, type, what) {
  const found = exchange.headers.get('content-type') ?? '';
  expect(found.split(';')[0].trim().toLowerCase() === type, `${what}: content-type ${brief(found)}, expected ${type}`);
}
