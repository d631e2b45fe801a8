/**
 * A static HTTP server on 127.0.0.1 with an ephemeral port, for pages that browser tests open: fixed paths, GET only,
 * everything else 404. `servePage` serves one ES-module bundle behind an empty HTML page.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StaticFile {
  type: string;
  body: string | Uint8Array;
}

export interface StaticServer {
  /** http://127.0.0.1:<port>, without a trailing slash. */
  url: string;
  close(): Promise<void>;
}

export async function serveStatic(files: Record<string, StaticFile>): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const file = request.method === 'GET' && Object.hasOwn(files, path) ? files[path] : undefined;
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Serves `/` as a page that runs `bundle` (an ES module, from bundleForBrowser) from `/bundle.js`. */
export function servePage(bundle: string, title = 'Portunus test page'): Promise<StaticServer> {
  // The empty icon keeps the browser from asking for /favicon.ico, which would log a 404 as a console error.
  const head = `<meta charset="utf-8"><link rel="icon" href="data:,"><title>${title}</title>`;
  const html = `<!doctype html>${head}<script type="module" src="/bundle.js"></script>`;
  return serveStatic({
    '/': { type: 'text/html; charset=utf-8', body: html },
    '/bundle.js': { type: 'text/javascript; charset=utf-8', body: bundle },
  });
}
