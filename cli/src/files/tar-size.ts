/** The exact tar size lives in the client core, shared with the page's tar writer (packages/client/src/tar-size.ts). */
export { TAR_BLOCK, TAR_END_SIZE, tarEntrySize, tarHeaderSize, tarPadding } from '@portunus/client';
