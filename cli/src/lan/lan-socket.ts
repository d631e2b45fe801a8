/**
 * The one UDP socket each side of LAN discovery uses: bound to the discovery port with SO_REUSEADDR (so several
 * portunus processes on one machine can all listen), joined to the group on every interface, able to send one
 * datagram to every target of `sendTargets`. Received datagrams are parsed here, so callers only ever see valid ones.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { LAN_DATAGRAM_BYTES, parseLanDatagram, type LanDatagram } from './datagram.js';
import { sendTargets, type Ipv4Interface, type SendTarget } from './targets.js';

export interface LanSocketOptions {
  /** Discovery port: where datagrams go, and (unless bindPort says otherwise) the port listened on. */
  port: number;
  /** 0: an ephemeral port, for a sender that cannot share the discovery port (it then hears no queries). */
  bindPort?: number;
  group: string;
  interfaces: () => readonly Ipv4Interface[];
  onDatagram: (d: LanDatagram, from: RemoteInfo) => void;
  debug: (message: string) => void;
}

export interface LanSocket {
  /** The bound port. */
  readonly port: number;
  /** Sends `bytes` to every target; failures of single targets (no route, interface gone) are skipped. Returns how many went out. */
  sendToAll(bytes: Uint8Array): Promise<number>;
  close(): Promise<void>;
}

export async function openLanSocket(opts: LanSocketOptions): Promise<LanSocket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    // The wildcard address: a socket bound to one address hears neither broadcasts nor multicast.
    socket.bind({ port: opts.bindPort ?? opts.port, address: '0.0.0.0', exclusive: false }, () => {
      socket.removeAllListeners('error');
      resolve();
    });
  });
  // After bind, errors are per-datagram (ICMP unreachable and the like): note them, never crash.
  socket.on('error', (err) => opts.debug(`LAN socket: ${err.message}`));
  socket.setBroadcast(true);
  socket.setMulticastTTL(1); // the local segment only
  socket.setMulticastLoopback(true); // a receiver on this same machine must hear us
  for (const iface of opts.interfaces()) {
    try {
      socket.addMembership(opts.group, iface.address);
    } catch (err) {
      opts.debug(`cannot join ${opts.group} on ${iface.address}: ${(err as Error).message}`);
    }
  }
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    if (msg.length !== LAN_DATAGRAM_BYTES) return;
    const d = parseLanDatagram(msg);
    if (d !== undefined) opts.onDatagram(d, from);
  });
  return new UdpLanSocket(socket, opts);
}

class UdpLanSocket implements LanSocket {
  private closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly opts: LanSocketOptions,
  ) {}

  get port(): number {
    return this.socket.address().port;
  }

  async sendToAll(bytes: Uint8Array): Promise<number> {
    let sent = 0;
    // One at a time: the multicast interface is socket state, so it must not change while a send is pending.
    for (const target of sendTargets(this.opts.interfaces())) {
      if (this.closed) break;
      if (await this.sendOne(bytes, target)) sent++;
    }
    return sent;
  }

  private sendOne(bytes: Uint8Array, target: SendTarget): Promise<boolean> {
    return new Promise((resolve) => {
      try {
        if (target.kind === 'multicast') this.socket.setMulticastInterface(target.via);
        const address = target.kind === 'multicast' ? this.opts.group : target.address;
        this.socket.send(bytes, this.opts.port, address, (err) => {
          if (err) this.opts.debug(`LAN send to ${describe(target)}: ${err.message}`);
          resolve(err === null || err === undefined);
        });
      } catch (err) {
        this.opts.debug(`LAN send to ${describe(target)}: ${(err as Error).message}`);
        resolve(false);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}

function describe(t: SendTarget): string {
  return t.kind === 'multicast' ? `multicast via ${t.via}` : `${t.kind} ${t.address}`;
}
