/**
 * The page the relay serves (PROTOCOL.md §2.12), over real HTTP on 127.0.0.1: the fixed list of files with their
 * types and security headers, nothing else (traversal included), HEAD, revalidation and gzip, `noPage`, and the
 * welcome's page flag following what the relay serves.
 */
import { request } from 'node:http';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import type { RelayHandle } from '../src/server.js';
import { MAX_PAGE_FILE_BYTES } from '../src/page-files.js';
import { pageCsp } from '../src/page-route.js';
import { RawClient, startTestRelay, within } from './helpers.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP request with the path sent exactly as given (no normalisation of `..` or `%2e`, unlike fetch). */
function http(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
  return within(
    new Promise<Reply>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers });
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      req.end();
    }),
    `${opts.method ?? 'GET'} ${path}`,
  );
}

const FILES: Record<string, { file: string; type: string; content: string }> = {
  '/': {
    file: 'index.html',
    type: 'text/html; charset=utf-8',
    content: '<!doctype html><script src="app.js"></script>',
  },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8', content: `console.log(1);${' '.repeat(4000)}` },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8', content: 'body { margin: 0 }' },
  '/sw.js': {
    file: 'sw.js',
    type: 'text/javascript; charset=utf-8',
    content: 'self.addEventListener("fetch", () => {});',
  },
  '/icon.svg': { file: 'icon.svg', type: 'image/svg+xml', content: '<svg xmlns="http://www.w3.org/2000/svg"/>' },
  '/manifest.webmanifest': {
    file: 'manifest.webmanifest',
    type: 'application/manifest+json',
    content: '{"name":"Portunus","start_url":"/"}',
  },
};

function expectPageHeaders(reply: Reply, port: number): void {
  expect(reply.headers['content-security-policy']).toBe(pageCsp(`127.0.0.1:${port}`));
  expect(reply.headers['x-content-type-options']).toBe('nosniff');
  expect(reply.headers['referrer-policy']).toBe('no-referrer');
  expect(reply.headers['cache-control']).toBe('no-cache');
  expect(reply.headers['set-cookie']).toBeUndefined();
}

let dir: string;
const relays: RelayHandle[] = [];
async function relay(config: Parameters<typeof startTestRelay>[0] = {}): Promise<RelayHandle> {
  const handle = await startTestRelay(config);
  relays.push(handle);
  return handle;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portunus-page-'));
  for (const { file, content } of Object.values(FILES)) await writeFile(join(dir, file), content);
  // Beside the page but not on its list: never served.
  await writeFile(join(dir, 'secret.txt'), 'not for the web');
  await writeFile(join(dir, 'app.js.map'), '{}');
});
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close(0)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the page served by the relay', () => {
  it('serves each listed file with its type, its bytes and the security headers', async () => {
    const { port } = await relay({ pageDir: dir });
    for (const [path, { type, content }] of Object.entries(FILES)) {
      const reply = await http(port, path);
      expect(reply.status, path).toBe(200);
      expect(reply.headers['content-type'], path).toBe(type);
      expect(reply.body.toString(), path).toBe(content);
      expectPageHeaders(reply, port);
    }
    // The query string is not part of the path (a link may carry one); the fragment never reaches a server.
    expect((await http(port, '/?from=qr')).body.toString()).toBe(FILES['/']!.content);
  });

  it('sets a strict Content-Security-Policy: own script and style only, no framing, no base or form targets', () => {
    const csp = pageCsp('relay.example:8443');
    const directives = new Map(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('style-src')).toBe("'self'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(directives.get('base-uri')).toBe("'none'");
    expect(directives.get('form-action')).toBe("'none'");
    expect(csp).not.toMatch(/unsafe|https?:|\*/);
    // The relay's own WebSocket origin, for browsers whose 'self' does not cover ws:/wss: (older WebKit).
    expect(directives.get('connect-src')).toBe("'self' ws://relay.example:8443 wss://relay.example:8443");
  });

  it.each([
    ['relay.example', "'self' ws://relay.example wss://relay.example"],
    ['192.0.2.7:4747', "'self' ws://192.0.2.7:4747 wss://192.0.2.7:4747"],
    ['[2001:db8::1]:4747', "'self' ws://[2001:db8::1]:4747 wss://[2001:db8::1]:4747"],
    ["x; script-src 'unsafe-inline'", "'self'"],
    ['x y', "'self'"],
    ['*', "'self'"],
    ['evil.example/path', "'self'"],
    ['a'.repeat(64), "'self'"],
  ])('names the WebSocket origin of Host %j only when it is a plain host[:port]', async (host, connect) => {
    const { port } = await relay({ pageDir: dir });
    const reply = await http(port, '/', { headers: { host } });
    expect(reply.headers['content-security-policy']).toContain(`; connect-src ${connect}; worker-src`);
  });

  it('answers HEAD with the headers and no body', async () => {
    const { port } = await relay({ pageDir: dir });
    const reply = await http(port, '/app.js', { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe(String(FILES['/app.js']!.content.length));
    expect(reply.body.length).toBe(0);
    expectPageHeaders(reply, port);
  });

  it('answers an unchanged file with 304 (headers included) and gzips for browsers that accept it', async () => {
    const { port } = await relay({ pageDir: dir });
    const first = await http(port, '/app.js');
    const etag = String(first.headers.etag);
    const again = await http(port, '/app.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expectPageHeaders(again, port);
    const zipped = await http(port, '/app.js', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.body).toString()).toBe(FILES['/app.js']!.content);
    expect((await http(port, '/app.js', { headers: { 'accept-encoding': 'gzip;q=0' } })).headers).not.toHaveProperty(
      'content-encoding',
    );
  });

  it.each([
    '/index.html',
    '/secret.txt',
    '/app.js.map',
    '/APP.JS',
    '//app.js',
    '/app.js/',
    '/./app.js',
    '/../page/app.js',
    '/..%2fsecret.txt',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/../../../../etc/passwd',
    '/%61pp.js',
    '/static/',
    '/__proto__',
    '/constructor',
    '*',
  ])('does not serve %s', async (path) => {
    const { port } = await relay({ pageDir: dir });
    const reply = await http(port, path);
    expect(reply.status).toBe(404);
    expect(reply.body.toString()).toBe('not found\n');
    expect(reply.headers['set-cookie']).toBeUndefined();
  });

  it('never logs or counts a request path (a link may carry a code in its query by mistake)', async () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', quiet: false, verbose: true, write: (t) => void lines.push(t) });
    const handle = await startTestRelay({ pageDir: dir }, { logger });
    relays.push(handle);
    for (const path of ['/?code=7-H7K-29A', '/7-H7K-29A', '/app.js?7-H7K-29A']) await http(handle.port, path);
    const client = await RawClient.hello(handle.url);
    client.close();
    await client.closed;
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toMatch(/H7K|29A/);
    expect(await handle.metrics()).not.toMatch(/H7K|29A/);
  });

  it('serves only GET and HEAD', async () => {
    const { port } = await relay({ pageDir: dir });
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      expect((await http(port, '/', { method })).status, method).toBe(404);
    }
  });

  it('serves the page beside health, metrics and the WebSocket, and its welcome says page: true', async () => {
    const handle = await relay({ pageDir: dir });
    expect(handle.servesPage).toBe(true);
    expect((await http(handle.port, '/healthz')).status).toBe(200);
    expect((await http(handle.port, '/metrics')).status).toBe(200);
    const client = await RawClient.connect(handle.url);
    client.json({ type: 'hello', protocol: 1, agent: 'test/1' });
    expect(await client.expect('welcome')).toEqual({
      type: 'welcome',
      protocol: 1,
      relay: 'portunus-relay',
      page: true,
    });
    client.close();
  });

  it('with noPage serves none of it, and its welcome has no page flag', async () => {
    const handle = await relay({ pageDir: dir, noPage: true });
    expect(handle.servesPage).toBe(false);
    for (const path of Object.keys(FILES)) expect((await http(handle.port, path)).status, path).toBe(404);
    const client = await RawClient.connect(handle.url);
    client.json({ type: 'hello', protocol: 1, agent: 'test/1' });
    expect(await client.expect('welcome')).toEqual({ type: 'welcome', protocol: 1, relay: 'portunus-relay' });
    client.close();
  });

  it('without a built page beside it (running from sources) serves none, and says so', async () => {
    const handle = await relay();
    expect(handle.servesPage).toBe(false);
    expect((await http(handle.port, '/')).status).toBe(404);
  });

  it('refuses to start with a page directory that has no index.html', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'portunus-nopage-'));
    try {
      await expect(startTestRelay({ pageDir: empty })).rejects.toMatchObject({ code: 'USAGE' });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('refuses to start with a page file that is too large or not a file', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'portunus-badpage-'));
    try {
      await writeFile(join(bad, 'index.html'), 'page');
      await mkdir(join(bad, 'app.js'));
      await expect(startTestRelay({ pageDir: bad })).rejects.toMatchObject({ code: 'USAGE' });
      await rm(join(bad, 'app.js'), { recursive: true });
      // A sparse file: its size counts, nothing is written.
      await truncate(join(bad, 'index.html'), MAX_PAGE_FILE_BYTES + 1);
      await expect(startTestRelay({ pageDir: bad })).rejects.toMatchObject({ code: 'USAGE' });
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it('serves the files as they were at start: later changes on disk do not reach the web', async () => {
    const own = await mkdtemp(join(tmpdir(), 'portunus-page-'));
    try {
      await writeFile(join(own, 'index.html'), 'first');
      const { port } = await relay({ pageDir: own });
      await writeFile(join(own, 'index.html'), 'second');
      await writeFile(join(own, 'app.js'), 'added later');
      expect((await http(port, '/')).body.toString()).toBe('first');
      expect((await http(port, '/app.js')).status).toBe(404);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});
