/**
 * The one HTTP client (OCSP responders, AIA caIssuers, DNS provider APIs).
 * Every request has a timeout, honours an AbortSignal, caps the body size,
 * follows at most `maxRedirects` redirects and only to http(s) URLs.
 */
import http from 'node:http';
import https from 'node:https';
import { NetworkError } from '../errors/index.js';

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  timeoutMs: number;
  /** Bytes; a larger body aborts the request. */
  maxBodyBytes: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Extra CA certificates (PEM) for https (a private responder or API). */
  ca?: string | Buffer;
  /** For errors and logs: what is being fetched ("OCSP response for mx"). */
  what?: string;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: string;
}

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  let url = req.url;
  let method = req.method ?? 'GET';
  let body = req.body;
  const maxRedirects = req.maxRedirects ?? 3;
  const deadline = Date.now() + req.timeoutMs;
  for (let hop = 0; ; hop++) {
    // One deadline for all hops; the error names the configured timeout, not what was left of it.
    const res = await once({ ...req, url, method, ...(body === undefined ? {} : { body }) }, Math.max(1, deadline - Date.now()));
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
      if (hop >= maxRedirects) {
        throw new NetworkError(`${req.what ?? url}: more than ${maxRedirects} redirects`, { code: 'HTTP_TOO_MANY_REDIRECTS', object: req.url, hint: 'point the URL at the final location' });
      }
      const next = new URL(res.headers.location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new NetworkError(`${req.what ?? url}: redirect to ${next.protocol} refused`, { code: 'HTTP_BAD_REDIRECT', object: req.url, hint: 'only http and https redirects are followed' });
      }
      url = next.toString();
      if (res.status === 303) { method = 'GET'; body = undefined; }
      continue;
    }
    return res;
  }
}

function once(req: HttpRequest & { url: string; method: string }, remainingMs: number): Promise<HttpResponse> {
  const what = req.what ?? req.url;
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(req.url);
    } catch (err) {
      reject(new NetworkError(`${what}: invalid URL ${req.url}`, { code: 'HTTP_BAD_URL', object: req.url, cause: err }));
      return;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      reject(new NetworkError(`${what}: unsupported URL scheme ${u.protocol}`, { code: 'HTTP_BAD_URL', object: req.url }));
      return;
    }
    const mod = u.protocol === 'https:' ? https : http;
    const payload = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.from(req.body);
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(req.signal?.reason);
    req.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let settled = false;
    const fail = (err: NetworkError) => {
      if (settled) return;
      settled = true;
      cleanup();
      request.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new NetworkError(`${what}: no answer within ${req.timeoutMs} ms`, {
      code: 'HTTP_TIMEOUT', object: req.url, hint: 'the server accepted the connection but did not answer in time; it will be retried',
    })), remainingMs);
    const cleanup = () => {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onOuterAbort);
    };
    const request = mod.request(u, {
      method: req.method,
      headers: {
        host: u.host,
        'user-agent': 'tlskeeper',
        ...(payload ? { 'content-length': String(payload.length) } : {}),
        ...req.headers,
      },
      signal: controller.signal,
      ...(req.ca ? { ca: req.ca } : {}),
    }, (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > req.maxBodyBytes) {
        fail(new NetworkError(`${what}: response of ${declared} bytes exceeds the ${req.maxBodyBytes}-byte limit`, { code: 'HTTP_TOO_LARGE', object: req.url }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxBodyBytes) {
          fail(new NetworkError(`${what}: response exceeds the ${req.maxBodyBytes}-byte limit`, { code: 'HTTP_TOO_LARGE', object: req.url }));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url: req.url });
      });
      res.on('error', (err) => fail(new NetworkError(`${what}: ${err.message}`, { code: 'HTTP_FAILED', object: req.url, cause: err })));
    });
    request.on('error', (err) => {
      const aborted = req.signal?.aborted;
      fail(new NetworkError(`${what}: ${aborted ? 'aborted' : err.message}`, {
        code: aborted ? 'HTTP_ABORTED' : 'HTTP_FAILED', object: req.url, cause: err,
        ...(aborted ? {} : { hint: 'check that the server is reachable from this host' }),
      }));
    });
    if (payload) request.end(payload);
    else request.end();
  });
}
