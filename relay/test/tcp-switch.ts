/**
 * A TCP proxy on 127.0.0.1 that the tests can switch off and on: a network outage between the relays and their Redis
 * that keeps Redis's data (stopping redis-server would lose it). Test harness only.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpSwitch {
  private readonly sockets = new Set<Socket>();
  private off = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort: number): Promise<TcpSwitch> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpSwitch(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => {
      if (proxy.off) return void client.destroy();
      const upstream = connect(upstreamPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => (proxy.sockets.delete(s), client.destroy(), upstream.destroy()));
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    return proxy;
  }

  /** Every connection is cut, and new ones are refused until `on()`. */
  cut(): void {
    this.off = true;
    for (const s of this.sockets) s.destroy();
  }

  on(): void {
    this.off = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
