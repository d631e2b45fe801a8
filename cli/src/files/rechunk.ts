/** Re-cutting a byte stream into chunks lives in the client core, shared with the page (packages/client/src/rechunk.ts). */
export { allocChunk, checkChunkSize, MAX_CHUNK_SIZE, rechunk } from '@portunus/client';
