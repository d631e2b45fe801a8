/**
 * The relay data path: after both sides ask for it (`pipe`), the relay forwards binary frames between them with
 * backpressure on both hops. The relay client does the flow control; this adapts it to the Transport interface.
 */
import type { RelayClient } from './relay-client.js';
import type { Transport } from './transport.js';

export class RelayTransport implements Transport {
  readonly kind = 'relay' as const;

  private constructor(private readonly client: RelayClient) {}

  /** Asks the relay for the data path and resolves once both sides have. */
  static async open(client: RelayClient): Promise<RelayTransport> {
    await client.openPipe();
    return new RelayTransport(client);
  }

  send(frame: Uint8Array): Promise<void> {
    return this.client.sendData(frame);
  }

  frames(): AsyncIterable<Uint8Array> {
    return this.client.dataFrames();
  }

  /** The control connection outlives the data path (receipts follow the data), so closing is the session's job. */
  async close(): Promise<void> {}
}
