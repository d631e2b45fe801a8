/**
 * The data plane's options (@portunus/client data-plane.ts) as the CLI fills them for one transfer: node:crypto for
 * AES-GCM and SHA-256, both kinds of direct path (node-connectors.ts) with this side's and the relay's ICE servers,
 * and the terminal's view of what happens (ui/data-events.ts).
 */
import {
  advertisedIce,
  type ControlMux,
  type DataContext,
  type DataPlaneOptions,
  type Paired,
  type RejoiningRelay,
} from '@portunus/client';
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import { YoungGc } from '@portunus/relay';
import { nodeConnectors } from '../transport/node-connectors.js';
import { dataPlaneEvents } from '../ui/data-events.js';
import type { TransferContext } from './context.js';

export interface DataPlaneParts {
  data: DataContext;
  /** The relay connection, which may come back after a loss: each return is a new relay path. */
  relay: RejoiningRelay;
  control: ControlMux;
  /** What the relay said in `paired` (its ICE servers). */
  paired: Paired;
  /** 'Sending' or 'Receiving', for the progress line. */
  verb: string;
  total: number | undefined;
}

export function dataPlaneOptions(ctx: TransferContext, parts: DataPlaneParts): DataPlaneOptions {
  const debug = (message: string) => ctx.reporter.debug(message);
  return {
    paths: {
      directTimeoutMs: ctx.directTimeoutMs,
      relay: parts.relay.client,
      rejoins: parts.relay,
      connectors: nodeConnectors({
        iceServers: ctx.iceServers,
        relayIce: advertisedIce(parts.paired),
        random: ctx.random,
        debug,
        ...(ctx.lan?.bind === undefined ? {} : { tcpListenHost: ctx.lan.bind }),
      }),
    },
    data: parts.data,
    aead: nodeAead,
    sha256: nodeSha256,
    events: dataPlaneEvents(ctx.reporter, parts.verb, parts.total),
    now: ctx.now,
    total: parts.total,
    stallMs: ctx.stallMs,
    control: parts.control,
  };
}

/**
 * The sender's options with a young-generation collection every few MiB sent (young-gc.ts): sealing leaves one dead
 * 1 MiB buffer per frame (node:crypto's update() output), while the frames themselves are used again (frame-pool.ts),
 * so nothing long-lived is promoted by the extra scavenges. Measured, 1 GiB (alternating runs): sender peak RSS
 * 127-141 -> 102-113 MB over TCP and 139-140 -> 108-116 MB through a loopback relay, for ~0.3 s more system CPU
 * (the freed memory goes back to the kernel and is faulted in again; the cadence, 8 to 24 MiB, does not change it).
 * Not the receiver: its frames wait in the inbox and the file writes across a scavenge or two, and promoted to the
 * old generation they stayed longer (130-142 -> 149-160 MB).
 */
export function collectingYoung(plane: DataPlaneOptions): DataPlaneOptions {
  const young = new YoungGc();
  let counted = 0;
  const progress = (bytes: number) => {
    young.moved(bytes - counted);
    counted = bytes;
    plane.events.progress(bytes);
  };
  return { ...plane, events: { ...plane.events, progress } };
}
