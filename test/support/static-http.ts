// A tiny static web server (for AIA caIssuers URLs in tests): serves fixed
// bodies by path on 127.0.0.1.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StaticFile {
  type: string;
  body: Buffer | string;
}

export interface StaticHttp {
  url: string;
  files: Map<string, StaticFile>;
  hits: Map<string, number>;
  stop(): Promise<void>;
}

export async function startStaticHttp(files: Record<string, StaticFile> = {}): Promise<StaticHttp> {
  const map = new Map(Object.entries(files));
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const file = map.get(path);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'content-length': String(Buffer.byteLength(file.body)) });
    res.end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    files: map,
    hits,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
