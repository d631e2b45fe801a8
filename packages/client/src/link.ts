/**
 * One link per path (PROTOCOL.md §5.2): the transport of a path that came up, with the two things every user of a
 * path needs and no user should write again.
 *
 * - Sends never overlap: every frame given to send() goes out after the ones before it, whoever sends it (data,
 *   acks and control messages share a path), and close() lets what was handed over go out first.
 * - Incoming frames go to the one consumer of their stream, read from the frame header (streams.ts): control
 *   messages to the control channel, data to the receiver, acks to the sender. Each consumer is awaited before the
 *   next frame is read, so the transport's own bounded queue is all the buffering there is. A frame on no known
 *   stream, or a control frame on the relay pipe (which carries no control messages, §5.2), is CORRUPT: the link
 *   ends with that error.
 */
import {
  createError,
  streamOf,
  toPortunusError,
  type PathKind,
  type PortunusError,
  type StreamName,
} from '@portunus/protocol';
import type { Transport } from './transport.js';
import { settleWithin } from './async-queue.js';

/** How long close() waits for sends already handed over before it closes anyway. */
const CLOSE_AFTER_SENDS_MS = 2_000;

/** A consumer of one stream: the frame is lent until the returned promise settles (copy what must outlive it). */
export type FrameHandler = (frame: Uint8Array) => void | Promise<void>;

export class Link {
  readonly kind: PathKind;
  private tail: Promise<void> = Promise.resolve();
  private readonly handlers: Partial<Record<StreamName, FrameHandler>> = {};
  private readonly endHandlers: ((error: PortunusError | undefined) => void)[] = [];
  private ending: PortunusError | undefined | null = null;
  /** Resolves when the path has ended: undefined for a clean end, else why. */
  readonly ended: Promise<PortunusError | undefined>;

  constructor(private readonly transport: Transport) {
    this.kind = transport.kind;
    this.ended = this.read();
  }

  /** Sends `frame` after every frame handed over before it; resolves once it is below the transport's high-water mark. */
  send(frame: Uint8Array): Promise<void> {
    const sent = this.tail.then(() => this.transport.send(frame));
    this.tail = sent.catch(() => undefined);
    return sent;
  }

  /** Takes the frames of `stream` from now on (one consumer per stream; frames before this are not kept). */
  on(stream: StreamName, handler: FrameHandler): void {
    this.handlers[stream] = handler;
  }

  /** Called once, when the path ends (at once if it already has). */
  onEnd(handler: (error: PortunusError | undefined) => void): void {
    if (this.ending !== null) handler(this.ending);
    else this.endHandlers.push(handler);
  }

  /** What was handed to send() goes out first (the last receipt may be queued behind a data frame); bounded. */
  close(): Promise<void> {
    return settleWithin(this.tail, CLOSE_AFTER_SENDS_MS).then(() => this.transport.close());
  }

  private async read(): Promise<PortunusError | undefined> {
    let error: PortunusError | undefined;
    try {
      for await (const frame of this.transport.frames()) {
        const stream = streamOf(frame);
        if (stream === undefined || (stream === 'control' && this.kind === 'relay')) {
          throw createError('CORRUPT', `a frame on no stream this ${this.kind} path carries`);
        }
        await this.handlers[stream]?.(frame);
      }
    } catch (err) {
      error = toPortunusError(err);
    }
    this.ending = error;
    for (const handler of this.endHandlers.splice(0)) handler(error);
    return error;
  }
}
