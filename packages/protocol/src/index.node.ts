/** `@portunus/protocol/node`: the crypto backends on node:crypto (Node only). */
export { nodeAead } from './aead.node.js';
export { nodeSha256 } from './sha256.node.js';
