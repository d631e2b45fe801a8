import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { proxyTrust } from '../src/address.js';
import { PreUpgradeSockets } from '../src/pre-upgrade-sockets.js';

/** The part of a net.Socket the counter uses: its peer address, 'close' and destroy(). */
class FakeSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly remoteAddress: string) {
    super();
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function setup(trust: Parameters<typeof proxyTrust>[0] = false) {
  let refused = 0;
  const sockets = new PreUpgradeSockets({ perAddress: 2, trust: proxyTrust(trust), onRefused: () => refused++ });
  const open = (address: string): FakeSocket => {
    const socket = new FakeSocket(address);
    sockets.accept(socket as unknown as Socket);
    return socket;
  };
  return { sockets, open, refused: () => refused };
}

describe('PreUpgradeSockets', () => {
  it('destroys sockets beyond the cap per address (an IPv6 /64 is one address), and counts refusals', () => {
    const { sockets, open, refused } = setup();
    const kept = [open('198.51.100.1'), open('::ffff:198.51.100.1')];
    expect(open('198.51.100.1').destroyed).toBe(true);
    expect([open('2001:db8:0:1::a'), open('2001:db8:0:1::b'), open('2001:db8:0:1::c')].map((s) => s.destroyed)).toEqual(
      [false, false, true],
    );
    expect(kept.map((s) => s.destroyed)).toEqual([false, false]);
    expect(open('198.51.100.2').destroyed).toBe(false);
    expect(sockets.size).toBe(5);
    expect(refused()).toBe(2);
  });

  it('frees a place when a socket closes or asks for the upgrade (once, whichever comes first)', () => {
    const { sockets, open } = setup();
    const first = open('198.51.100.1');
    const second = open('198.51.100.1');
    sockets.upgrading(first as unknown as Socket);
    first.emit('close');
    sockets.upgrading(first as unknown as Socket);
    expect(sockets.size).toBe(1);
    second.emit('close');
    expect(sockets.size).toBe(0);
    expect([open('198.51.100.1'), open('198.51.100.1')].map((s) => s.destroyed)).toEqual([false, false]);
  });

  it("does not count a trusted proxy's sockets: its clients are counted after the upgrade", () => {
    const { sockets, open } = setup(['10.0.0.0/8']);
    const fromProxy = Array.from({ length: 5 }, () => open('10.1.1.1'));
    expect(fromProxy.some((s) => s.destroyed)).toBe(false);
    expect(sockets.size).toBe(0);
    expect([open('198.51.100.1'), open('198.51.100.1'), open('198.51.100.1')].map((s) => s.destroyed)).toEqual([
      false,
      false,
      true,
    ]);
  });
});
