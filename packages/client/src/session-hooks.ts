/**
 * What driveSession (session-driver.ts) is given: the control channel it talks over, the hooks through which the CLI
 * or the page shows, decides and moves the data, and its bounds.
 */
import type { Decision, Digest, Offer, ResumeClaim, Role, SessionConfig, SessionKeys, Side } from '@portunus/protocol';
import type { Paired, PeerEvent } from './relay-client.js';

/** What the driver needs of the relay connection (the relay client provides it; tests may fake it). */
export interface ControlChannel {
  sendMessage(body: Uint8Array): void;
  nextEvent(): Promise<PeerEvent>;
  burn(): void;
  /**
   * The key is confirmed: a channel that can meet the peer again after a lost connection (PROTOCOL.md §2.13) may do
   * so from now on. `expected` gives the index of the next sealed control message the session expects.
   */
  confirmed?(keys: SessionKeys, side: Side, expected?: () => number): void;
  /**
   * The session ended well and this side sent the last message: wait (at most `ms`) until the peer has read it, before
   * the paths close (ControlMux: until the peer closed every direct path).
   */
  linger?(ms: number): Promise<void>;
}

export interface DataContext {
  keys: SessionKeys;
  side: Side;
  role: Role;
  abilities: string[];
  /** Aborted when the session ends, whichever way. */
  signal: AbortSignal;
  /** Signalling with the peer for the direct paths (sealed, through the relay). */
  link: PeerLink;
  /** Runs `cleanup` when the session is over (after the receipts: a data path must outlive its last frame). */
  defer(cleanup: () => Promise<void>): void;
}

/**
 * What setting up a path may say to the peer and hear from it: sealed signals through the machine, by topic (the
 * path's ability; only agreed ones). The bodies are the path layer's to write and to validate (path-signals.ts).
 */
export interface PeerLink {
  send(topic: string, body: unknown): Promise<void>;
  /** The peer's next body on `topic`; rejects when `abort` fires or the session ends. */
  next(topic: string, abort?: AbortSignal): Promise<unknown>;
}

export interface DriverHooks {
  /** The relay paired this side with someone (again, after `unpaired`). */
  onPaired?(paired: Paired): void;
  /** The peer left before the key exchange completed; the room waits for another. */
  onUnpaired?(): void;
  onConfirmed?(info: { verifier: string; abilities: string[]; peerAbilities: string[] }): void;
  /** Receiver: show the offer and decide. */
  onOffer?(offer: Offer, signal: AbortSignal): Promise<Decision>;
  /**
   * Sender: whether the receiver's claim (it holds the file's first `claim.bytes`, of SHA-256 `claim.sha256`) matches
   * this side's own file (PROTOCOL.md §4.12). Without it no claim matches: the data starts at 0.
   */
  checkResume?(claim: ResumeClaim): Promise<boolean>;
  /**
   * Sender: stream everything from byte `from` (what the receiver already holds); resolves with what was sent,
   * counting the whole file (`from` included) and its SHA-256.
   */
  sendData?(ctx: DataContext, from: number): Promise<Digest>;
  /** Receiver: take the whole stream (verified frame by frame) after the first `from` bytes; resolves with the file's. */
  receiveData?(ctx: DataContext, from: number): Promise<Digest>;
  /** Receiver: the sender reported the end of the data before the stream here ended (see SessionAction). */
  onPeerSent?(): void;
  /** Receiver: move the verified data into place. */
  commit?(): Promise<void>;
}

export interface DriveOptions {
  relayName: string;
  config: SessionConfig;
  hooks: DriverHooks;
  /** Aborting it (Ctrl-C) cancels the session and tells the peer. */
  signal?: AbortSignal;
  /** How long to wait for the other side to show up, and to answer the offer (--timeout). */
  waitMs: number;
  /** How long any network wait may last without progress (--stall-timeout). */
  stallMs: number;
}
