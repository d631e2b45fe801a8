/** The CLI's one door into the protocol core (so no file reaches into packages/ by long relative paths). */
export * from '../../packages/protocol/src/index.js';
