/** `@portunus/protocol/noble`: the crypto backends in plain JavaScript (@noble), for pages without WebCrypto. */
export { nobleAead } from './aead.noble.js';
export { nobleSha256 } from './sha256.noble.js';
