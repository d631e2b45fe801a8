/** The relay's public API: start one in-process, or build the `portunus relay` command. */
export { startRelay, type RelayDeps, type RelayHandle, type RelayStats } from './server.js';
export { defaultRelayConfig, relayConfigFromEnv, resolveRelayConfig, type RelayConfig } from './config.js';
export { RELAY_OPTIONS, type RelayOption } from './relay-options.js';
export { relayCommand } from './command.js';
export { createLogger, silentLogger, type Logger, type LogFields, type LogFormat } from './logger.js';
export type { Health } from './http.js';
