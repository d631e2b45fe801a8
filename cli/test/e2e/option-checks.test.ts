/**
 * Every option of send and receive is checked before anything reaches the network: an invalid one exits 2 without
 * a connection to the relay (a TCP server counts connections) and, in LAN mode, without starting the built-in relay
 * or announcing (a UDP socket listens on the test's private discovery port). "Nothing arrived" is shown without
 * waiting on time: after the process exits, the test's own connection or datagram is the first one to arrive.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort, testSocket } from '../lan/udp.js';
import { exitOf, runPortunus } from './harness.js';

let config: string;
beforeAll(async () => {
  config = await mkdtemp(join(tmpdir(), 'portunus-options-'));
});
afterAll(async () => {
  await rm(config, { recursive: true, force: true });
});

/** The invalid options, each with a valid --text and code around it. */
const INVALID: string[][] = [
  ['--code-length', '27'],
  ['--code-length', 'six'],
  ['--code-length', '5'],
  ['--timeout', '0'],
  ['--chunk-size', '0'],
  ['--direct-timeout', 'soon'],
  ['--discover-timeout', '0'],
  ['--ice-server', 'http://stun.example.org'],
  ['--bind', 'nowhere'],
  ['--code', '7-H7K-29U'],
  ['--name', 'x.txt'],
];

/** A "relay" that only counts the TCP connections it gets. */
async function countingServer(): Promise<{
  url: string;
  connections: () => number;
  settle: () => Promise<void>;
  close: () => Promise<void>;
}> {
  let count = 0;
  const waiters = new Set<() => void>();
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
    waiters.forEach((w) => w());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}`,
    connections: () => count,
    /** Connects once more and waits until the server has seen that connection, so every earlier one is counted. */
    settle: async () => {
      const before = count;
      const arrived = new Promise<void>((resolve) => {
        const check = () => count > before && (waiters.delete(check), resolve());
        waiters.add(check);
      });
      createConnection(port, '127.0.0.1').on('error', () => undefined);
      await arrived;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('invalid options fail before any network traffic', () => {
  it.each(INVALID)('relay mode: send %s %s', async (...bad) => {
    const relay = await countingServer();
    try {
      const p = runPortunus(['send', '--relay', relay.url, '--text', 'hi', ...bad], {
        env: { XDG_CONFIG_HOME: config },
      });
      expect(await exitOf(p, 20_000), p.stderr()).toBe(2);
      expect(p.stderr()).toMatch(/^portunus: .+\n {2}hint: /);
      await relay.settle();
      expect(relay.connections()).toBe(1);
    } finally {
      await relay.close();
    }
  });

  it.each(INVALID.filter(([flag]) => flag !== '--code-length' && flag !== '--code' && flag !== '--name'))(
    'relay mode: receive %s %s',
    async (...bad) => {
      const relay = await countingServer();
      try {
        const p = runPortunus(['receive', '--yes', '--relay', relay.url, '7-H7K-29A', ...bad], {
          env: { XDG_CONFIG_HOME: config },
        });
        expect(await exitOf(p, 20_000), p.stderr()).toBe(2);
        await relay.settle();
        expect(relay.connections()).toBe(1);
      } finally {
        await relay.close();
      }
    },
  );

  it.each(INVALID)('LAN mode: send %s %s starts no relay and announces nothing', async (...bad) => {
    const port = await freeUdpPort();
    const listener = await testSocket('127.0.0.1', port, true);
    try {
      const bind = bad[0] === '--bind' ? [] : ['--bind', '127.0.0.1'];
      const p = runPortunus(['send', '--text', 'hi', ...bind, ...bad], {
        env: { XDG_CONFIG_HOME: config, PORTUNUS_LAN_PORT: String(port) },
      });
      expect(await exitOf(p, 20_000), p.stderr()).toBe(2);
      expect(p.stderr()).not.toMatch(/LAN mode/);
      const sentinel = await testSocket();
      await sentinel.send('sentinel', port, '127.0.0.1');
      await listener.waitFor(1);
      await sentinel.close();
      expect(listener.heard.map((h) => h.msg.toString())).toEqual(['sentinel']);
    } finally {
      await listener.close();
    }
  });
});
