/** What every relay connection is configured with, whatever its socket (relay-conversation.ts). */
export interface ConversationOptions {
  /** Sent in hello, e.g. "portunus/0.1.0". */
  agent: string;
  /** Bound on connect + hello/welcome (default 10 s). */
  connectTimeoutMs?: number;
  /** Aborting closes the connection; pending calls reject. */
  signal?: AbortSignal;
  /** Largest control message sent or accepted (default 1 MiB, the relay's default). */
  maxMessageBytes?: number;
  /** Peer events held unread before the peer counts as flooding (default 256). */
  maxQueuedMessages?: number;
  /** Told when the room is paired (true) and when it waits again after `unpaired` (false). */
  onPairing?(paired: boolean): void;
}
