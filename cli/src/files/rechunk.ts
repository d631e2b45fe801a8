/** Re-cutting a byte stream into chunks lives in the client core, shared with the page (packages/client/src/rechunk.ts). */
export { allocChunk, checkChunkSize, MAX_CHUNK_SIZE, rechunk } from '@portunus/client';

/** Chunks already in memory, as the async stream the tar packer and the tree writer take. */
export async function* streamOf(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}
