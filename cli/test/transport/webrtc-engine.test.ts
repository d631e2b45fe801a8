/**
 * Choosing the WebRTC engine (webrtc-engine.ts): PORTUNUS_WEBRTC_ENGINE's values, `auto` falling back to werift
 * when node-datachannel does not load, a forced libdatachannel failing with DIRECT_FAILED and a hint, the native
 * runtime cleaned up once its last peer connection is gone, and node-datachannel loaded lazily, in one place.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadWebRtcEngine,
  NativeRuntime,
  parseEngineChoice,
  type NodeDataChannelModule,
} from '../../src/transport/webrtc-engine.js';
import { eventually } from '@portunus/client/transport-suite';

const unloadable = () =>
  Promise.reject(new Error('Cannot load native addon for node-datachannel on plan9 (mips)\nStack: …'));

describe('PORTUNUS_WEBRTC_ENGINE', () => {
  it('takes auto (also when unset or empty), werift and libdatachannel', () => {
    expect([undefined, '', 'auto', 'werift', 'libdatachannel'].map(parseEngineChoice)).toEqual([
      'auto',
      'auto',
      'auto',
      'werift',
      'libdatachannel',
    ]);
  });

  it('refuses anything else with USAGE, naming the variable and the values', () => {
    expect(() => parseEngineChoice('libwebrtc')).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/PORTUNUS_WEBRTC_ENGINE/) }),
    );
    try {
      parseEngineChoice('ndc');
    } catch (err) {
      expect((err as { hint: string }).hint).toMatch(/auto.*werift.*libdatachannel/);
    }
  });
});

describe('loading an engine', () => {
  it('auto: libdatachannel when it loads, werift (with the reason, in debug) when it does not', async () => {
    const said: string[] = [];
    expect(await loadWebRtcEngine('auto', { importNative: unloadable, debug: (m) => said.push(m) })).toEqual({
      name: 'werift',
    });
    expect(said).toEqual([
      expect.stringMatching(/^WebRTC engine: werift \(libdatachannel did not load: Cannot load native addon[^\n]*\)$/),
    ]);
    const fake = { getLibraryVersion: () => '0.0-test', cleanup: () => undefined } as unknown as NodeDataChannelModule;
    const engine = await loadWebRtcEngine('auto', { importNative: async () => fake });
    expect(engine.name).toBe('libdatachannel');
  });

  it('forced libdatachannel that does not load: DIRECT_FAILED with a hint (so auto transport falls back to the relay)', async () => {
    const failure = loadWebRtcEngine('libdatachannel', { importNative: unloadable });
    await expect(failure).rejects.toMatchObject({
      code: 'DIRECT_FAILED',
      message: expect.stringMatching(/did not load/),
    });
    await expect(failure).rejects.toMatchObject({
      hint: expect.stringMatching(/optional dependencies.*PORTUNUS_WEBRTC_ENGINE=werift/),
    });
  });

  it('werift never touches node-datachannel', async () => {
    let imported = false;
    const engine = await loadWebRtcEngine('werift', {
      importNative: async () => ((imported = true), {} as NodeDataChannelModule),
    });
    expect([engine.name, imported]).toEqual(['werift', false]);
  });

  it('one runtime per loaded module, so every connection of the process shares one lease count', async () => {
    const fake = { getLibraryVersion: () => 'x', cleanup: () => undefined } as unknown as NodeDataChannelModule;
    const [a, b] = await Promise.all(
      [1, 2].map(() => loadWebRtcEngine('libdatachannel', { importNative: async () => fake })),
    );
    expect(a?.name === 'libdatachannel' && b?.name === 'libdatachannel' && a.runtime === b.runtime).toBe(true);
  });
});

describe('the native runtime', () => {
  it('cleans up once, after the last lease is returned, and not while another connection lives', async () => {
    let cleanups = 0;
    const runtime = new NativeRuntime({ cleanup: () => void cleanups++ } as unknown as NodeDataChannelModule);
    const first = runtime.lease();
    const second = runtime.lease();
    first();
    first(); // idempotent: a double close must not release the other connection's lease
    await new Promise((resolve) => setImmediate(resolve));
    expect(cleanups).toBe(0);
    second();
    await eventually(() => cleanups === 1, 'the cleanup');
    const third = runtime.lease(); // the library starts afresh after a cleanup
    third();
    await eventually(() => cleanups === 2, 'the second cleanup');
  });
});

describe('node-datachannel is loaded lazily', () => {
  const SRC = fileURLToPath(new URL('../../src', import.meta.url));
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const files = sources(SRC).map((path) => ({ path: path.slice(SRC.length + 1), text: readFileSync(path, 'utf8') }));

  it('has no static value import anywhere in the CLI, and one dynamic import (through esm-import.ts), in webrtc-engine.ts', () => {
    expect(
      files
        .filter(({ text }) => /^import\s+(?!type\b)[^;]*\sfrom\s+['"]node-datachannel['"]/m.test(text))
        .map((f) => f.path),
    ).toEqual([]);
    expect(
      files.filter(({ text }) => /\bimport(?:Module)?\(\s*['"]node-datachannel['"]\s*\)/.test(text)).map((f) => f.path),
    ).toEqual(['transport/webrtc-engine.ts']);
  });
});
