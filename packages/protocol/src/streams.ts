/**
 * The streams a session's frames travel on (PROTOCOL.md §5.2): every frame names its stream in its clear header, so a
 * path can hand each frame to the one consumer of its stream without opening it.
 */
import { HEADER_BYTES } from './frame.js';

/** Sealed control messages (message keys, §4.1). */
export const CONTROL_STREAM = 0;
/** The data (the sender's data key, §4.2). */
export const DATA_STREAM = 1;
/** Acknowledgements of the data (the receiver's data key, §5.3). */
export const ACK_STREAM = 2;

export type StreamName = 'control' | 'data' | 'acks';

/** The stream a frame claims to be on, read from its header in place; undefined for a frame too short or unknown. */
export function streamOf(frame: Uint8Array): StreamName | undefined {
  if (frame.length < HEADER_BYTES) return undefined;
  const id = ((frame[1]! << 24) | (frame[2]! << 16) | (frame[3]! << 8) | frame[4]!) >>> 0;
  return id === CONTROL_STREAM ? 'control' : id === DATA_STREAM ? 'data' : id === ACK_STREAM ? 'acks' : undefined;
}
