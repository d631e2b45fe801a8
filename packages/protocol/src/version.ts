/** Wire protocol version. Bumped only on incompatible changes; the relay path carries it (`/v1`). */
export const PROTOCOL_VERSION = 1;

/** Path of the relay's WebSocket endpoint for this protocol version. */
export const RELAY_PATH = `/v${PROTOCOL_VERSION}`;

/** Versions of the relay protocol this code can speak (a relay accepts a hello naming one of them). */
export const SUPPORTED_VERSIONS: readonly number[] = [1];

/** Domain-separation prefix for every label and transcript in the protocol. */
export const PROTOCOL_LABEL = 'portunus/1';
