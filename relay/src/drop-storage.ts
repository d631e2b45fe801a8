/**
 * Where drops live (PROTOCOL.md §11.4): one interface, two implementations — a directory (drop-file-storage.ts) and
 * an S3 bucket (drop-s3-storage.ts, loaded only when used: the AWS SDK is large). Uploads go through a tus data store
 * (@tus/file-store, @tus/s3-store); downloads, deletion and the drop records go through this interface.
 */
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { DataStore } from '@tus/server';
import type { DropRecord } from './drop-record.js';

export interface StoredRecords {
  records: DropRecord[];
  /** Ids whose record could not be read back (logged and left alone). */
  damaged: string[];
}

export interface DropStorage {
  /** What the logs and /healthz call it: the directory, or `s3://bucket/prefix`. */
  readonly description: string;
  /** The tus store that uploads are written to. */
  readonly uploads: DataStore;
  /** The tus upload id (the storage key) of a drop id. */
  uploadKey(id: string): string;
  /** Every stored record, read at start-up. */
  records(): Promise<StoredRecords>;
  /** Replaces the record whole (atomically: a crash leaves the old or the new one). */
  writeRecord(record: DropRecord): Promise<void>;
  deleteRecord(id: string): Promise<void>;
  /** The stored bytes from `start` (inclusive) to the end. */
  read(id: string, start: number): Promise<Readable>;
  /** Deletes the bytes and the upload's state; a drop already gone is not an error. */
  deleteData(id: string): Promise<void>;
  /** Releases clients (the S3 connection pool). */
  close(): void;
}

/**
 * Opens `--storage`: `s3://bucket/prefix` or a directory path. With `redis` (instances sharing it), what a tus store
 * caches about an upload is kept there too (drop-s3-storage.ts); a directory's tus state is already in its files.
 */
export async function openDropStorage(
  spec: string,
  env: Record<string, string | undefined>,
  redis?: Redis,
): Promise<DropStorage> {
  if (spec.startsWith('s3://')) {
    const { openS3Storage } = await import('./drop-s3-storage.js');
    return openS3Storage(spec, env, redis);
  }
  const { openFileStorage } = await import('./drop-file-storage.js');
  return openFileStorage(spec);
}
