/** Public surface of the Portunus protocol core (pure, browser-safe; see PROTOCOL.md). */
export * from './bytes.js';
export * from './code.js';
export * from './errors.js';
export * from './offer.js';
export * from './peer-messages.js';
export * from './session.js';
export * from './version.js';
export * from './cpace.js';
export * from './keys.js';
export * from './confirm.js';
export * from './frame.js';
export type { Aead, AeadFactory } from './aead.js';
export * from './relay-messages.js';
export * from './signal.js';
export * from './binding.js';
export * from './channel-messages.js';
