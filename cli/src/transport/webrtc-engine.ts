/**
 * Which WebRTC stack carries the direct path. Both speak the same protocol on the wire (PROTOCOL.md §6.4), so the
 * two sides need not agree:
 *
 * - `werift`: pure TypeScript, always there.
 * - `libdatachannel`: the native library through node-datachannel, an optional dependency whose prebuilt binary comes
 *   in a per-platform npm package. Several times faster (it is not CPU-bound in JavaScript), but absent where no
 *   binary fits the platform, or where optional dependencies were left out.
 *
 * `PORTUNUS_WEBRTC_ENGINE=auto|werift|libdatachannel` chooses; `auto` (the default) takes libdatachannel when it
 * loads, else werift. Nothing is loaded before a direct connection is tried.
 */
import type * as NodeDataChannel from 'node-datachannel';
import { createError } from '@portunus/protocol';
import { importModule } from '../esm-import.js';

export type NodeDataChannelModule = typeof NodeDataChannel;
export type WebRtcEngineName = 'werift' | 'libdatachannel';
export type WebRtcEngineChoice = 'auto' | WebRtcEngineName;
export const WEBRTC_ENGINE_ENV = 'PORTUNUS_WEBRTC_ENGINE';

export type WebRtcEngine = { name: 'werift' } | { name: 'libdatachannel'; runtime: NativeRuntime };

/**
 * The native library's threads reach JavaScript through thread-safe callbacks, each of which holds Node's event loop
 * open. node-datachannel releases a peer connection's callbacks when its state callback sees 'closed' (so NdcPeer
 * always subscribes to it: without that a closed connection keeps the process alive); a connection whose close
 * did not complete in time is only released by the process-wide `cleanup()`, which also closes every connection
 * still open. So each peer connection takes a lease, and the last lease returned cleans up.
 */
export class NativeRuntime {
  private live = 0;
  constructor(readonly ndc: NodeDataChannelModule) {}

  /** Call once per peer connection, before creating it; the returned function (idempotent) gives the lease back. */
  lease(): () => void {
    this.live++;
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      // Deferred: cleanup() must not run inside one of the library's own callbacks, nor before close() settled.
      if (--this.live === 0) setImmediate(() => this.live === 0 && this.ndc.cleanup());
    };
  }
}

/**
 * The one runtime per loaded native module: the library's state is per process, so its lease count must be too
 * (a second count would clean up under the first one's connections). Keyed by the module object, not a global flag.
 */
const runtimes = new WeakMap<NodeDataChannelModule, NativeRuntime>();

export interface LoadOptions {
  debug?: (message: string) => void;
  /** How node-datachannel is imported (tests stand in a failing one). */
  importNative?: () => Promise<NodeDataChannelModule>;
}

export function parseEngineChoice(value: string | undefined): WebRtcEngineChoice {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'werift' || value === 'libdatachannel') return value;
  throw createError(
    'USAGE',
    `${WEBRTC_ENGINE_ENV} must be auto, werift or libdatachannel, not '${value.slice(0, 40)}'`,
    {
      hint: `Unset ${WEBRTC_ENGINE_ENV}, or set it to auto (libdatachannel when it loads, else werift), werift or libdatachannel.`,
    },
  );
}

/**
 * Resolves the choice to an engine, loading node-datachannel (its native binary included) only now, when a direct
 * connection is tried. `auto` falls back to werift when it does not load; a forced `libdatachannel` fails instead.
 */
export async function loadWebRtcEngine(choice: WebRtcEngineChoice, opts: LoadOptions = {}): Promise<WebRtcEngine> {
  const { debug, importNative = () => importModule('node-datachannel') as Promise<NodeDataChannelModule> } = opts;
  if (choice === 'werift') {
    debug?.('WebRTC engine: werift');
    return { name: 'werift' };
  }
  let ndc: NodeDataChannelModule;
  try {
    ndc = await importNative();
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (choice === 'auto') {
      debug?.(`WebRTC engine: werift (libdatachannel did not load: ${why})`);
      return { name: 'werift' };
    }
    throw createError(
      'DIRECT_FAILED',
      `${WEBRTC_ENGINE_ENV}=libdatachannel, but node-datachannel did not load: ${why}`,
      {
        cause: err,
        hint: `Reinstall with optional dependencies (npm install without --omit=optional) on a platform node-datachannel ships a binary for, or set ${WEBRTC_ENGINE_ENV}=werift (or auto).`,
      },
    );
  }
  let runtime = runtimes.get(ndc);
  if (runtime === undefined) runtimes.set(ndc, (runtime = new NativeRuntime(ndc)));
  debug?.(`WebRTC engine: libdatachannel ${ndc.getLibraryVersion()}`);
  return { name: 'libdatachannel', runtime };
}
