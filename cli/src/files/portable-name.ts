/** The portable name rule lives in the client core, shared with the page (packages/client/src/portable-name.ts). */
export { NOT_PORTABLE_HINT, windowsNameProblem } from '@portunus/client';
