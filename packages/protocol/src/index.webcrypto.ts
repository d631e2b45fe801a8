/**
 * `@portunus/protocol/webcrypto`: the page's data-plane AEAD, WebCrypto AES-256-GCM where the page is a secure
 * context and @noble/ciphers where it is not (pageDataAead).
 */
export { pageDataAead, webCryptoAead, type PageDataAead } from './aead.webcrypto.js';
