/** The page's pure parts, in Node: how sizes and offers read, the relay address and link, the speed over a window. */
import { describe, expect, it } from 'vitest';
import { describeOffer, formatBytes, formatSpeed } from '../src/format.js';
import { ProgressMeter } from '../src/progress-meter.js';
import { codeLink, relayUrl } from '../src/relay-address.js';

describe('format', () => {
  it('reads sizes in decimal units, as file managers show them', () => {
    expect([0, 1, 999, 1000, 1_234_567, 50_000_000, 3e12].map(formatBytes)).toEqual([
      '0 bytes',
      '1 byte',
      '999 bytes',
      '1.0 kB',
      '1.2 MB',
      '50 MB',
      '3.0 TB',
    ]);
    expect(formatSpeed(2_500_000)).toBe('2.5 MB/s');
  });

  it('describes every kind of offer in one line', () => {
    expect(describeOffer({ kind: 'file', name: 'a.pdf', size: 1_500_000 })).toEqual({
      name: 'a.pdf',
      detail: 'a file, 1.5 MB',
    });
    expect(describeOffer({ kind: 'folder', name: 'f', size: 9000, files: 1, bytes: 10 }).detail).toBe(
      'a folder, 1 file, 10 bytes',
    );
    expect(describeOffer({ kind: 'stream', name: 's' }).detail).toBe('a stream of unknown length');
    expect(describeOffer({ kind: 'text', text: 'héllo' })).toEqual({ name: 'A text message', detail: '6 bytes' });
  });
});

describe('relay address', () => {
  it("is the page's own origin over ws: or wss:, and the link carries the code in its fragment only", () => {
    expect(relayUrl({ protocol: 'http:', host: '192.168.1.20:4000' })).toBe('ws://192.168.1.20:4000/v1');
    expect(relayUrl({ protocol: 'https:', host: 'relay.example' })).toBe('wss://relay.example/v1');
    expect(codeLink('https://relay.example', { nameplate: 7, secret: 'H7K29A' })).toBe(
      'https://relay.example/#7-H7K-29A',
    );
  });
});

describe('ProgressMeter', () => {
  it('gives the percent, and the speed over the last seconds (it follows a faster path)', () => {
    let now = 0;
    const meter = new ProgressMeter(() => now);
    expect(meter.read(0, 100_000_000)).toEqual({ fraction: 0, speed: 0 });
    for (let t = 1; t <= 10; t++) {
      now = t * 1000;
      meter.read(t * 1_000_000, 100_000_000);
    }
    now = 11_000;
    const slow = meter.read(11_000_000, 100_000_000);
    expect(slow.fraction).toBeCloseTo(0.11);
    expect(slow.speed).toBeCloseTo(1_000_000, -3);
    for (let t = 12; t <= 16; t++) {
      now = t * 1000;
      meter.read(11_000_000 + (t - 11) * 10_000_000, 100_000_000);
    }
    expect(meter.read(61_000_000, 100_000_000).speed).toBeCloseTo(10_000_000, -4);
    expect(meter.read(5, undefined).fraction).toBeUndefined();
  });
});
