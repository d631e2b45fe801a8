/**
 * For tests that play a sender by hand (a hostile or decoy peer): the data plane's real sender (SwitchingSender)
 * over the relay pipe alone, with whatever bytes the test wants. The receiver on the other end is a real process.
 */
import { nodeAead, nodeSha256 } from '@portunus/protocol/node';
import { AckOpener, DATA_STREAM, type Digest, FrameSealer } from '@portunus/protocol';
import { type DataContext, Link, type RelayClient, RelayTransport, SwitchingSender } from '@portunus/client';

export async function streamOverRelay(client: RelayClient, ctx: DataContext, data: Uint8Array): Promise<Digest> {
  const transport = await RelayTransport.open(client);
  const peer = ctx.side === 'a' ? 'b' : 'a';
  const sender = new SwitchingSender({
    chunks: (async function* () {
      for (let at = 0; at < data.length; at += 1024 * 1024) yield data.slice(at, at + 1024 * 1024);
    })(),
    sealer: new FrameSealer(nodeAead(ctx.keys.data[ctx.side]), DATA_STREAM),
    acks: new AckOpener(nodeAead(ctx.keys.data[peer])),
    sha256: nodeSha256,
    now: () => performance.now(),
    signal: ctx.signal,
    stallMs: 60_000,
    onProgress: () => undefined,
    onSwitch: () => undefined,
    pendingPaths: () => 0,
  });
  sender.addPath(new Link(transport));
  return sender.run();
}
