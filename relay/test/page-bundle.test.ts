/**
 * The page as built and shipped (scripts/build.mjs copies packages/web/dist to `page/` beside each relay bundle):
 * every built relay serves it without being told where it is — the standalone relay (relay/dist, the container's
 * command), `portunus relay` and the relay a LAN-mode sender runs inside itself (cli/dist). Runs the bundles `npm
 * test` builds first (its pretest).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT_PAGE = join(ROOT, 'packages/web/dist');

type Child = ChildProcessByStdio<null, Readable, Readable>;
const children: Child[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
});

function start(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  return child;
}

/** Resolves with the first match of `pattern` in what `stream` writes. */
function waitFor(stream: Readable, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return within(
    new Promise((resolve, reject) => {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const m = pattern.exec(text);
        if (m !== null) resolve(m);
      });
      stream.on('end', () => reject(new Error(`${what}: the stream ended first:\n${text}`)));
    }),
    what,
    30_000,
  );
}

/** A UDP port free on loopback a moment ago: the LAN sender's discovery port, away from other tests'. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** Checks that the relay on `port` serves the built page, byte for byte, with its policy and its welcome flag. */
async function expectBuiltPage(port: number): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  const index = await fetch(`${base}/`);
  expect(index.status).toBe(200);
  expect(index.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self';/);
  expect(await index.text()).toBe(readFileSync(join(BUILT_PAGE, 'index.html'), 'utf8'));
  expect(await (await fetch(`${base}/app.js`)).text()).toBe(readFileSync(join(BUILT_PAGE, 'app.js'), 'utf8'));
  // Source maps stay out of the copy: the list would not serve one anyway.
  expect((await fetch(`${base}/app.js.map`)).status).toBe(404);
}

describe('the page shipped with every built relay', () => {
  it('relay/dist (the container image) serves the page beside it', async () => {
    const relay = start(['relay/dist/main.js', '--host', '127.0.0.1', '--port', '0', '--json']);
    const [, port] = await waitFor(relay.stdout, /"url":"ws:\/\/127\.0\.0\.1:(\d+)\/v1"/, 'the listening event');
    await expectBuiltPage(Number(port));
  });

  it('`portunus relay` (cli/dist) serves it, and `--no-page` turns it off', async () => {
    const relay = start(['cli/bin/portunus', 'relay', '--host', '127.0.0.1', '--port', '0', '--json']);
    const [, port] = await waitFor(relay.stdout, /"url":"ws:\/\/127\.0\.0\.1:(\d+)\/v1"/, 'the listening event');
    await expectBuiltPage(Number(port));
    const bare = start(['cli/bin/portunus', 'relay', '--host', '127.0.0.1', '--port', '0', '--json', '--no-page']);
    const [, barePort] = await waitFor(bare.stdout, /"url":"ws:\/\/127\.0\.0\.1:(\d+)\/v1"/, 'the listening event');
    expect((await fetch(`http://127.0.0.1:${barePort}/`)).status).toBe(404);
  });

  it('a LAN-mode sender’s built-in relay serves it', async () => {
    // No relay configured (an empty config folder) and discovery on a port of its own: LAN mode, on loopback.
    const config = await mkdtemp(join(tmpdir(), 'portunus-page-lan-'));
    try {
      const sender = start(
        ['cli/bin/portunus', 'send', '--text', 'hi', '--bind', '127.0.0.1', '--no-qr', '--verbose'],
        {
          XDG_CONFIG_HOME: config,
          PORTUNUS_LAN_PORT: String(await freeUdpPort()),
        },
      );
      const [, port] = await waitFor(
        sender.stderr,
        /embedded relay: listening url=ws:\/\/127\.0\.0\.1:(\d+)\/v1/,
        'the embedded relay',
      );
      await expectBuiltPage(Number(port));
    } finally {
      await rm(config, { recursive: true, force: true });
    }
  });
});
