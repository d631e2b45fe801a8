/**
 * Fault injection for end-to-end tests, all of it in the harness (the product has no test hooks):
 *
 * - RelayProxy: a WebSocket proxy in front of a real relay that forwards every message both ways until told
 *   otherwise. It can hold each client's relay messages after the first few (the sealed hints and WebRTC signals,
 *   so direct paths come up only when released), withhold data frames (a relay that stops forwarding but keeps the
 *   connection and answers pings), or stop forwarding anything.
 * - TcpProxy: a plain TCP proxy that can stop moving bytes while keeping both sockets open (a network partition:
 *   not even pings get through), freeze only the connections open at a point (later ones move), cut every
 *   connection and refuse new ones until healed (a network outage), and keep every byte a client sent (what a relay
 *   would have seen).
 * - killTcp: destroys a process's established TCP connections (`ss -K`, root), as a cable pulled out would.
 */
import { spawnSync } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

type Message = { data: WebSocket.RawData; binary: boolean };

export class RelayProxy {
  private readonly wss: WebSocketServer;
  private holdAfter = Infinity;
  private readonly held: { to: WebSocket; msg: Message }[] = [];
  private withhold: ((frame: Buffer) => boolean) | undefined;
  private freeze: ((frame: Buffer) => boolean) | undefined;
  private readonly frozen: { to: WebSocket; msg: Message }[] = [];
  private stopped = false;
  /** Binary bytes forwarded client → relay, over all connections. */
  binaryBytes = 0;

  private constructor(
    private readonly upstream: string,
    readonly url: string,
    wss: WebSocketServer,
  ) {
    this.wss = wss;
    wss.on('connection', (client) => this.wssOnConnection(client));
  }

  static async start(upstream: string): Promise<RelayProxy> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: '/v1',
      perMessageDeflate: false,
      maxPayload: 2 * 1024 * 1024,
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/v1`;
    return new RelayProxy(upstream, url, wss);
  }

  /** Each client's relay `msg` messages after the first `n` wait here until release(). */
  holdMessagesAfter(n: number): void {
    this.holdAfter = n;
  }

  release(): void {
    this.holdAfter = Infinity;
    for (const { to, msg } of this.held.splice(0)) send(to, msg);
  }

  /** Data frames (client → relay) for which `drop` is true are swallowed from now on. */
  withholdFrames(drop: (frame: Buffer) => boolean): void {
    this.withhold = drop;
  }

  /** Called when the first frame is frozen. */
  onFrozen: () => void = () => undefined;

  /** Data frames (client → relay) for which `hold` is true wait here, in order, until thaw(). */
  freezeFrames(hold: (frame: Buffer) => boolean): void {
    this.freeze = hold;
  }

  thaw(): void {
    this.freeze = undefined;
    for (const { to, msg } of this.frozen.splice(0)) send(to, msg);
  }

  /** Forwards nothing more, either way; connections stay open (pings are still answered by each side's socket). */
  stop(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private wssOnConnection(client: WebSocket): void {
    const relay = new WebSocket(this.upstream, { perMessageDeflate: false, maxPayload: 2 * 1024 * 1024 });
    const early: Message[] = [];
    let messages = 0;
    relay.on('open', () => early.splice(0).forEach((m) => send(relay, m)));
    client.on('message', (data, binary) => {
      const msg = { data, binary };
      if (this.stopped) return;
      if (binary) {
        const frame = data as Buffer;
        if (this.withhold?.(frame)) return;
        if (this.freeze?.(frame) === true) {
          if (this.frozen.push({ to: relay, msg }) === 1) this.onFrozen();
          return;
        }
        this.binaryBytes += frame.length;
      } else if ((JSON.parse(data.toString()) as { type?: string }).type === 'msg' && ++messages > this.holdAfter) {
        this.held.push({ to: relay, msg });
        return;
      }
      if (relay.readyState === WebSocket.CONNECTING) early.push(msg);
      else send(relay, msg);
    });
    relay.on('message', (data, binary) => {
      if (!this.stopped) send(client, { data, binary });
    });
    relay.on('close', (code, reason) => {
      // 1005/1006 (no code, abnormal) cannot be sent on: end the client's connection the same abrupt way.
      if (code === 1005 || code === 1006) client.terminate();
      else if (client.readyState === WebSocket.OPEN) client.close(code, reason);
    });
    client.on('close', () => relay.terminate());
    relay.on('error', () => client.terminate());
    client.on('error', () => relay.terminate());
  }
}

function send(to: WebSocket, msg: Message): void {
  if (to.readyState === WebSocket.OPEN) to.send(msg.data as Buffer, { binary: msg.binary });
}

/** A data frame (stream 1) with the FINAL flag (PROTOCOL.md §5.1: the header is in clear). */
export const isFinalFrame = (frame: Buffer): boolean =>
  frame.length >= 13 && (frame[0]! & 1) === 1 && frame.readUInt32BE(1) === 1;

/** A withholding rule: every data frame once `bytes` of data frames went through. */
export function afterDataBytes(bytes: number): (frame: Buffer) => boolean {
  let seen = 0;
  return (frame) => {
    if (frame.length < 13 || frame.readUInt32BE(1) !== 1) return false;
    seen += frame.length;
    return seen > bytes;
  };
}

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  /** Each open connection's own switch (freezeAfter stops the ones open then). */
  private readonly conns = new Set<{ moving: boolean; upstream: Socket }>();
  private moving = true;
  private severed = false;
  /** Told of every chunk recorded (sentMatch). */
  private readonly watchers = new Set<() => void>();
  private froze!: () => void;
  /** Resolves once `freezeAfter` bytes went client → upstream and the connections open then stopped moving. */
  readonly frozen = new Promise<void>((resolve) => (this.froze = resolve));
  /** Bytes moved client → upstream, and upstream → client. */
  bytesUp = 0;
  bytesDown = 0;
  /** With `record`: every connection's bytes client → upstream, in the order the connections came. */
  readonly sent: Buffer[][] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly stopAfter: number,
    private readonly record: boolean,
    private freezeAfter: number,
    private freezeDownAfter: number,
    private readonly holdDownAfter: number,
  ) {}

  /**
   * `stopAfter`: stop moving anything once this many bytes went client → upstream (a partition mid-transfer).
   * `record`: keep what each client sent (`sent`).
   * `freezeAfter`: once this many bytes went client → upstream, the connections open then stop moving anything
   * (their sockets stay open); connections made later move as usual. `freezeDownAfter`: the same once this many
   * bytes went upstream → client, and upstream is no longer read either (backpressure: a server sending a response
   * cannot finish writing it, as behind a receiver that stopped reading). `holdDownAfter`: once this many bytes went
   * upstream → client, upstream is still read to its end but nothing more reaches the client (a buffering proxy
   * holding the end of a response: the server has written it all, the client has not got it).
   */
  static async start(
    upstreamPort: number,
    opts: {
      stopAfter?: number;
      record?: boolean;
      freezeAfter?: number;
      freezeDownAfter?: number;
      holdDownAfter?: number;
    } = {},
  ): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const proxy = new TcpProxy(
      server,
      port,
      opts.stopAfter ?? Infinity,
      opts.record ?? false,
      opts.freezeAfter ?? Infinity,
      opts.freezeDownAfter ?? Infinity,
      opts.holdDownAfter ?? Infinity,
    );
    server.on('connection', (client) => {
      if (proxy.severed) return void client.destroy();
      proxy.pipe(client, connect(upstreamPort, '127.0.0.1'));
    });
    return proxy;
  }

  /** With `record`: resolves with the first match of `pattern` in what the clients sent (latin1), checked as it comes. */
  sentMatch(pattern: RegExp, ms = 60_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(Buffer.concat(this.sent.flat()).toString('latin1'));
        if (match !== null) finish(() => resolve(match));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`nothing sent matched ${pattern}`))), ms);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        settle();
      };
      this.watchers.add(check);
      check();
    });
  }

  /** A network outage: every connection is cut (both sockets destroyed) and new ones are refused until heal(). */
  sever(): void {
    this.severed = true;
    for (const s of this.sockets) s.destroy();
  }

  /** The outage is over: new connections go through again. */
  heal(): void {
    this.severed = false;
  }

  /** The connections open now stop moving (once); later ones move as usual. */
  private freeze(): void {
    if (this.freezeAfter === Infinity && this.freezeDownAfter === Infinity) return;
    const down = this.freezeDownAfter !== Infinity;
    for (const conn of this.conns) {
      conn.moving = false;
      if (down) conn.upstream.pause();
    }
    this.freezeAfter = Infinity;
    this.freezeDownAfter = Infinity;
    this.froze();
  }

  /** From now on nothing moves either way; both sockets stay open. */
  stop(): void {
    this.moving = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket, upstream: Socket): void {
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => (client.destroy(), upstream.destroy()));
      s.on('close', () => (client.destroy(), upstream.destroy()));
    }
    const kept: Buffer[] = [];
    if (this.record) this.sent.push(kept);
    const conn = { moving: true, upstream };
    this.conns.add(conn);
    client.on('close', () => this.conns.delete(conn));
    client.on('data', (chunk) => {
      if (!this.moving || !conn.moving) return;
      this.bytesUp += chunk.length;
      if (this.record) kept.push(chunk);
      for (const watcher of [...this.watchers]) watcher();
      upstream.write(chunk);
      if (this.bytesUp >= this.stopAfter) this.stop();
      if (this.bytesUp >= this.freezeAfter) this.freeze();
    });
    upstream.on('data', (chunk) => {
      if (!this.moving || !conn.moving) return;
      if (this.bytesDown >= this.holdDownAfter) return;
      this.bytesDown += chunk.length;
      client.write(chunk);
      if (this.bytesDown >= this.freezeDownAfter) this.freeze();
    });
  }
}

/** Why killTcp cannot work here (not root, or no `ss`), or undefined. */
export function killTcpUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'killing connections needs root (ss -K)';
  const probe = spawnSync('ss', ['-V'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : 'ss (iproute2) is missing';
}

/**
 * Destroys every established TCP connection of process `pid` on 127.0.0.1 except those to or from `keepPort` (the
 * relay), and returns how many it found. The peer sees its socket end at once.
 */
export function killTcp(pid: number, keepPort: number): number {
  const listed = spawnSync('ss', ['-Htnp', 'state', 'established'], { encoding: 'utf8' }).stdout;
  let killed = 0;
  for (const line of listed.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const [local, peer] = line.trim().split(/\s+/).slice(2, 4);
    if (local === undefined || peer === undefined) continue;
    if (local.endsWith(`:${keepPort}`) || peer.endsWith(`:${keepPort}`)) continue;
    const [lhost, lport] = splitHost(local);
    const [phost, pport] = splitHost(peer);
    spawnSync('ss', ['-K', 'src', lhost, 'sport', '=', lport, 'dst', phost, 'dport', '=', pport]);
    killed++;
  }
  return killed;
}

function splitHost(address: string): [string, string] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), address.slice(at + 1)];
}
