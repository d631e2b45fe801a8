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
