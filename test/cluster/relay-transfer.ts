/**
 * One transfer at the relay's level, in-process, with the client library (packages/client's RelayClient over the
 * `ws` package's W3C-style WebSocket): a sender allocates a nameplate, a receiver claims it (through haproxy each
 * may land on any instance), they exchange a message each, open the pipe, and the payload crosses as data frames;
 * the receiver checks its SHA-256. Many of these run at once in a fraction of what CLI process pairs cost, so the
 * cluster tests reach hundreds of rooms on two cores; a few CLI pairs beside them run the whole protocol.
 */
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { connectBrowserRelay, type PeerEvent, type RelayClient, type W3CWebSocket } from '@portunus/client';

const FRAME_BYTES = 64 * 1024;
/** A hang detector for one small transfer on a busy machine. */
export const RELAY_TRANSFER_MS = 60_000;

export interface RelayTransferOptions {
  /** An X-Forwarded-For the client sends (haproxy appends the address it saw; the relays trust 127.0.0.1 hops). */
  forwardedFor?: string;
  /** How long a side may go without hearing from the relay (default: the library's). */
  stallTimeoutMs?: number;
  /** Called once both sides are paired, before any data (a test may break something there). */
  onPaired?(sides: { sender: RelayClient; receiver: RelayClient }): Promise<void> | void;
}

export interface RelayTransferResult {
  /** The instances the sender's and the receiver's connections landed on (Instance.name). */
  senderInstance: string;
  receiverInstance: string;
  nameplate: number;
}

/** The instance each client's connection landed on: haproxy names it in the upgrade's response (haproxy.cfg). */
const landed = new WeakMap<RelayClient, string>();
const INSTANCE_HEADER = 'x-portunus-instance';

/** The name of the instance (haproxy's server name, Instance.name) `client` reached; '' when not through haproxy. */
export function landedOn(client: RelayClient): string {
  return landed.get(client) ?? '';
}

/**
 * A WebSocket constructor with the W3C API that sends extra request headers and hands over the upgrade response's
 * instance header. Every instance has one --name: the name is part of the key exchange (CPace's channel id).
 */
function webSocketWith(headers: Record<string, string>, onInstance: (name: string) => void) {
  class HeaderWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { headers });
      this.once('upgrade', (res) => onInstance(String(res.headers[INSTANCE_HEADER] ?? '')));
    }
  }
  return HeaderWebSocket as unknown as new (url: string) => W3CWebSocket;
}

export async function openClient(url: string, options: RelayTransferOptions = {}): Promise<RelayClient> {
  const headers: Record<string, string> =
    options.forwardedFor === undefined ? {} : { 'X-Forwarded-For': options.forwardedFor };
  let instance = '';
  const client = await connectBrowserRelay({
    url,
    WebSocket: webSocketWith(headers, (name) => (instance = name)),
    agent: 'portunus-cluster-test/1',
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
  });
  landed.set(client, instance);
  return client;
}

export async function nextEvent<T extends PeerEvent['type']>(
  client: RelayClient,
  type: T,
): Promise<Extract<PeerEvent, { type: T }>> {
  const event = await client.nextEvent();
  if (event.type !== type) throw new Error(`expected a ${type} event, got ${event.type}`);
  return event as Extract<PeerEvent, { type: T }>;
}

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** Sends `payload` from one client to another through `url`; throws (never hangs) when anything fails. */
export async function relayTransfer(
  url: string,
  payload: Uint8Array,
  options: RelayTransferOptions = {},
): Promise<RelayTransferResult> {
  const opened: RelayClient[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`transfer unfinished after ${RELAY_TRANSFER_MS} ms`)), RELAY_TRANSFER_MS);
  });
  const run = async (): Promise<RelayTransferResult> => {
    const sender = await openClient(url, options);
    opened.push(sender);
    const nameplate = await sender.allocate();
    const receiver = await openClient(url, options);
    opened.push(receiver);
    // Side b, joining the sender's room; side a would be a new room of its own, the sender's not found.
    const { side } = await receiver.claim(nameplate);
    if (side !== 'b') throw new Error(`claim of ${nameplate} on ${landedOn(receiver)} made a new room`);
    await Promise.all([nextEvent(sender, 'paired'), nextEvent(receiver, 'paired')]);
    await options.onPaired?.({ sender, receiver });
    // The offer: length and digest; the receiver's answer; then the pipe.
    const offer = Buffer.alloc(40);
    offer.writeBigUInt64BE(BigInt(payload.length));
    sha256(payload).copy(offer, 8);
    sender.sendMessage(offer);
    const got = Buffer.from((await nextEvent(receiver, 'message')).body);
    receiver.sendMessage(new Uint8Array([1]));
    await nextEvent(sender, 'message');
    await Promise.all([sender.openPipe(), receiver.openPipe()]);
    const expected = Number(got.readBigUInt64BE(0));
    const sending = (async () => {
      for (let at = 0; at < payload.length; at += FRAME_BYTES)
        await sender.sendData(payload.subarray(at, at + FRAME_BYTES));
    })();
    const hash = createHash('sha256');
    let received = 0;
    for await (const frame of receiver.dataFrames()) {
      hash.update(frame);
      received += frame.length;
      if (received >= expected) break;
    }
    await sending;
    if (received !== expected) throw new Error(`received ${received} of ${expected} bytes`);
    if (!hash.digest().equals(got.subarray(8))) throw new Error('SHA-256 mismatch');
    sender.reportDone(true);
    receiver.reportDone(true);
    return { senderInstance: landedOn(sender), receiverInstance: landedOn(receiver), nameplate };
  };
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
    await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
  }
}

/**
 * Holds `count` transfers once each is paired (before any data), so a test can break something with every room
 * open: give `hold` as (or call it from) each one's onPaired, wait for `allHeld(runs)`, then `release()`.
 */
export function pairingGate(count: number) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  let allPaired!: () => void;
  const everyonePaired = new Promise<void>((resolve) => (allPaired = resolve));
  return {
    async hold(): Promise<void> {
      if (++held === count) allPaired();
      await released;
    },
    /** Every room paired, or the first transfer that failed before it did (a hang otherwise). */
    allHeld(runs: readonly Promise<unknown>[]): Promise<void> {
      return Promise.race([everyonePaired, ...runs.map((run) => run.then(() => new Promise<never>(() => undefined)))]);
    },
    release,
  };
}
