/**
 * deploy/nginx/relay.conf as a self-hoster runs it: Debian's nginx, on loopback, with a certificate from a private
 * CA made by the test, in front of a real relay process started as the file's comments say (bound to 127.0.0.1,
 * --trust-proxy 127.0.0.1). The file is used as it is, but for its listen address, its upstream's port and its two
 * certificate paths (nginx-site.ts). Real `portunus send` and `receive` meet through wss:// with --ca and move a
 * file (SHA-256 checked), and the relay sees a client's own address, through X-Forwarded-For, not nginx's nor a
 * forged one.
 *
 * Skipped, with the reason printed, without nginx or openssl.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exitOf,
  ROOT,
  runPortunus,
  startRelayProcess,
  tempDir,
  type Proc,
  type RelayProc,
} from '../../cli/test/e2e/harness.js';
import { makeCertificates, type TestCertificates } from '../../cli/test/tls/certificates.js';
import { freePort, moveFile } from './move-file.js';
import { nginxSite } from './nginx-site.js';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((path) => spawnSync(path, ['-v']).status === 0);

function skipReason(): string | undefined {
  if (NGINX === undefined) return 'nginx is not installed (Debian: apt-get install nginx)';
  if (spawnSync('openssl', ['version']).status !== 0) return 'openssl is not installed';
  return undefined;
}
const skip = skipReason();
if (skip !== undefined) console.log(`skipping the nginx example's test: ${skip}`);

describe.skipIf(skip !== undefined)('deploy/nginx/relay.conf in front of a relay, with a private CA', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let certs: TestCertificates;
  let relay: RelayProc;
  let nginx: Proc;
  let port: number;

  beforeAll(async () => {
    tmp = await tempDir('portunus-nginx-');
    certs = makeCertificates(tmp.path);
    relay = await startRelayProcess(['--trust-proxy', '127.0.0.1', '--verbose', '--log-format', 'json']);
    port = await freePort();
    const site = nginxSite({
      listenPort: port,
      relayPort: Number(new URL(relay.url).port),
      cert: certs.good.cert,
      key: certs.good.key,
    });
    const prefix = join(tmp.path, 'nginx');
    await mkdir(join(prefix, 'temp'), { recursive: true });
    await writeFile(join(prefix, 'relay.conf'), site);
    // What /etc/nginx/nginx.conf would hold, reduced to this test's folder; the relay's part is relay.conf alone.
    await writeFile(
      join(prefix, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${join(prefix, 'nginx.pid')};`,
        'error_log stderr notice;',
        'events { worker_connections 256; }',
        'http {',
        `  access_log ${join(prefix, 'access.log')};`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
          (kind) => `  ${kind}_temp_path ${join(prefix, 'temp', kind)};`,
        ),
        `  include ${join(prefix, 'relay.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    nginx = runPortunus(['-p', prefix, '-e', 'stderr', '-c', join(prefix, 'nginx.conf')], { command: [NGINX!] });
    // The master logs this once its listening sockets are open: connections queue from then on.
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (/start worker process/.test(nginx.stderr())) resolve();
        else if (nginx.child.exitCode !== null) reject(new Error(`nginx exited: ${nginx.stderr()}`));
      };
      nginx.child.stderr!.on('data', check);
      nginx.child.on('exit', check);
      check();
    });
  });

  afterAll(async () => {
    if (nginx !== undefined) {
      nginx.child.kill('SIGQUIT'); // nginx's graceful stop
      await exitOf(nginx);
    }
    await relay?.stop();
    await tmp?.cleanup();
  });

  it("passes the client's address in X-Forwarded-For, which the relay believes from nginx alone", async () => {
    // A client on another loopback address, claiming yet another one: the relay must see 127.0.0.2.
    const ws = new WebSocket(`wss://localhost:${port}/v1`, {
      ca: await readFile(certs.ca),
      localAddress: '127.0.0.2',
      headers: { 'X-Forwarded-For': '203.0.113.9' },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const connected = await relay.proc.waitEvent('connected', { stream: 'stderr' });
    ws.close();
    expect(connected.ip).toBe('127.0.0.2');
  });

  it('carries a real send and receive over wss:// with --ca: the file arrives intact', async () => {
    const moved = await moveFile(join(tmp.path, 'move'), `wss://localhost:${port}`, ['--ca', certs.ca]);
    expect(moved.codes, moved.sender.stderr() + moved.receiver.stderr()).toEqual([0, 0]);
    expect(moved.receivedSha256).toBe(moved.sentSha256);
    expect(moved.receiver.events().find((e) => e.event === 'done')).toMatchObject({ transport: 'relay' });
  });

  it('passes plain requests too: /healthz answers through the proxy', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.get(`https://localhost:${port}/healthz`, { ca: readFileSync(certs.ca) }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode} ${text}`))));
      });
      req.once('error', reject);
    });
    expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
  });
});
