// A misbehaving "OCSP responder" for the faults a real `openssl ocsp`
// responder cannot be made to show: HTTP errors, HTML pages, truncated or
// oversized bodies, a server that never answers, wrong content types,
// non-successful OCSPResponseStatus values, and a response for another
// certificate. Tests that use it say so; everything a real responder can do
// is tested against `openssl ocsp` (test/support/ocsp-responder.ts).
//
// The fault is chosen by the first path segment of the responder URL, so a
// certificate's `ocsp.url: http://127.0.0.1:PORT/<fault>` selects it for both
// the GET form (`/<fault>/<base64 request>`) and POST.
//
//   /status-500          HTTP 500
//   /html                200, text/html, a captive-portal page
//   /html-as-ocsp        200, application/ocsp-response, a captive-portal page
//   /truncated           200, the real responder's answer cut in half
//   /huge                200, 5 MiB of application/ocsp-response (Content-Length says so)
//   /huge-chunked        200, 5 MiB of application/ocsp-response, chunked (no length given up front)
//   /hang                accepts the connection, never answers
//   /wrong-type          200, the real responder's answer as application/octet-stream
//   /try-later           200, OCSPResponseStatus tryLater (RFC 6960 §4.2.1)
//   /malformed-request   200, OCSPResponseStatus malformedRequest
//   /other-certificate   200, the real responder's answer for another certificate
//   /redirect-N          302 to /relay, N times (N ≤ 9), then /relay
//   /redirect-ftp        302 to ftp://127.0.0.1/
//   /relay               200, the real responder's answer, passed through
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOcspHttpOptions {
  /** The real responder (http://127.0.0.1:PORT) whose answers /truncated, /wrong-type and /relay pass on. */
  upstreamUrl: string;
  /** A DER OCSPRequest for another certificate, for /other-certificate. */
  otherRequest?: Buffer;
}

export interface FakeOcspHttp {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Requests seen, by fault name. */
  hits: Map<string, number>;
  /** The headers of the last request, by fault name. */
  lastHeaders: Map<string, http.IncomingHttpHeaders>;
  stop(): Promise<void>;
}

/** OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } without responseBytes (RFC 6960 §4.2.1). */
export function unsuccessfulOcspResponse(status: number): Buffer {
  return Buffer.from([0x30, 0x03, 0x0a, 0x01, status]);
}

export const HTML_PAGE = '<!doctype html><html><head><title>Welcome to Hotel WiFi</title></head><body>Please log in.</body></html>\n';

export async function startFakeOcspHttp(opts: FakeOcspHttpOptions): Promise<FakeOcspHttp> {
  const hits = new Map<string, number>();
  const lastHeaders = new Map<string, http.IncomingHttpHeaders>();
  const hanging = new Set<http.ServerResponse>();

  /** Ask the real responder (POST) and return its body. */
  const upstream = (request: Buffer): Promise<Buffer> => new Promise((resolve, reject) => {
    const req = http.request(opts.upstreamUrl, {
      method: 'POST', headers: { 'content-type': 'application/ocsp-request', 'content-length': String(request.length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(request);
  });

  /** The OCSPRequest a client sent: the POST body, or the GET path's last segment (RFC 6960 Appendix A.1). */
  const requestOf = async (req: http.IncomingMessage, rest: string): Promise<Buffer> => {
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    }
    return Buffer.from(decodeURIComponent(rest), 'base64');
  };

  const send = (res: http.ServerResponse, status: number, type: string, body: Buffer | string): void => {
    res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)), connection: 'close' });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').replace(/^\/+/, '');
      const slash = path.indexOf('/');
      const fault = slash === -1 ? path : path.slice(0, slash);
      const rest = slash === -1 ? '' : path.slice(slash + 1);
      hits.set(fault, (hits.get(fault) ?? 0) + 1);
      lastHeaders.set(fault, req.headers);
      const ocsp = 'application/ocsp-response';
      const redirect = /^redirect-(\d)$/.exec(fault);
      if (redirect) {
        const n = Number(redirect[1]);
        const next = n > 1 ? `redirect-${n - 1}` : 'relay';
        res.writeHead(302, { location: `/${next}/${rest}`, 'content-length': '0', connection: 'close' });
        res.end();
        return;
      }
      if (fault === 'redirect-ftp') {
        res.writeHead(302, { location: 'ftp://127.0.0.1/ocsp', 'content-length': '0', connection: 'close' });
        res.end();
        return;
      }
      switch (fault) {
        case 'status-500': return send(res, 500, 'text/plain', 'internal server error\n');
        case 'html': return send(res, 200, 'text/html; charset=utf-8', HTML_PAGE);
        case 'html-as-ocsp': return send(res, 200, ocsp, HTML_PAGE);
        case 'huge': return send(res, 200, ocsp, Buffer.alloc(5 * 1024 * 1024, 0x30));
        case 'huge-chunked': {
          res.writeHead(200, { 'content-type': ocsp, connection: 'close' }); // no length: Transfer-Encoding chunked
          const chunk = Buffer.alloc(64 * 1024, 0x30);
          let left = 80; // 5 MiB
          const more = (): void => {
            while (left > 0) {
              left--;
              if (!res.write(chunk)) { res.once('drain', more); return; }
            }
            res.end();
          };
          res.on('close', () => { left = 0; });
          more();
          return undefined;
        }
        case 'hang': hanging.add(res); return undefined; // never answers
        case 'try-later': return send(res, 200, ocsp, unsuccessfulOcspResponse(3));
        case 'malformed-request': return send(res, 200, ocsp, unsuccessfulOcspResponse(1));
        default: break;
      }
      const request = await requestOf(req, rest);
      switch (fault) {
        case 'truncated': {
          const real = await upstream(request);
          return send(res, 200, ocsp, real.subarray(0, Math.floor(real.length / 2)));
        }
        case 'wrong-type': return send(res, 200, 'application/octet-stream', await upstream(request));
        case 'other-certificate': {
          if (!opts.otherRequest) return send(res, 500, 'text/plain', 'no otherRequest configured\n');
          return send(res, 200, ocsp, await upstream(opts.otherRequest));
        }
        case 'relay': return send(res, 200, ocsp, await upstream(request));
        default: return send(res, 404, 'text/plain', `unknown fault ${fault}\n`);
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) send(res, 502, 'text/plain', `${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    lastHeaders,
    async stop() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
