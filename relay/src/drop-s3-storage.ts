/**
 * Drops in an S3 bucket (`--storage s3://bucket/prefix`), for any S3-compatible store. @tus/s3-store writes an
 * upload as a multipart upload to `<prefix><id>` with its state in `<prefix><id>.info` (and a short tail in
 * `<prefix><id>.part` between PATCHes); the drop record is `<prefix>records/<id>.json`, replaced by one PUT (S3
 * replaces an object atomically). Endpoint, region and credentials come from the usual AWS variables:
 * AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (then path-style addressing, as S3-compatible stores expect), AWS_REGION,
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN); without keys, the SDK's own chain (profiles, roles).
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { S3Store, type Options as S3StoreOptions } from '@tus/s3-store';
import { IoRedisKvStore, MemoryKvStore } from '@tus/server';
import type { Redis } from 'ioredis';
import { createError } from '@portunus/protocol';
import { DROP_ID, parseDropRecord, serializeDropRecord, type DropRecord } from './drop-record.js';
import type { DropStorage, StoredRecords } from './drop-storage.js';

/** `s3://bucket/some/prefix` → bucket and key prefix (`some/prefix/`, or empty). */
export function parseS3Spec(spec: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(spec);
  const path = (m?.[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (m === null || !/^[\w./-]{0,200}$/.test(path))
    throw createError('USAGE', `--storage: expected s3://bucket/prefix, got '${spec.slice(0, 60)}'`);
  return { bucket: m[1]!, prefix: path === '' ? '' : `${path}/` };
}

/** The S3 client settings the AWS variables give. */
export function s3ClientConfig(env: Record<string, string | undefined>): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined } }
      : {}),
    // Checksums only where S3 requires them: many S3-compatible stores reject the SDK's default trailing
    // checksums (aws-chunked bodies), and the drop's bytes carry their own authentication (PROTOCOL.md §11.2).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/**
 * `redis`: instances share it. @tus/s3-store caches each upload's multipart id and announced size (the offset it
 * always asks S3 for); a cache per process would go stale when a drop id is deleted on one instance and created
 * again on another, so the cache is shared then.
 */
export function openS3Storage(spec: string, env: Record<string, string | undefined>, redis?: Redis): DropStorage {
  const { bucket, prefix } = parseS3Spec(spec);
  const config = s3ClientConfig(env);
  const client = new S3Client(config);
  const cache: NonNullable<S3StoreOptions['cache']> =
    redis === undefined ? new MemoryKvStore() : new IoRedisKvStore(redis, 'portunus:{drops}:tus:');
  const uploads = new S3Store({ s3ClientConfig: { ...config, bucket }, cache });
  const recordsPrefix = `${prefix}records/`;
  const recordKey = (id: string): string => `${recordsPrefix}${id}.json`;
  const isMissing = (err: unknown): boolean => {
    const name = (err as { name?: string }).name;
    return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload';
  };

  return {
    description: `s3://${bucket}/${prefix}`,
    uploads,
    uploadKey: (id) => `${prefix}${id}`,
    async records(): Promise<StoredRecords> {
      const out: StoredRecords = { records: [], damaged: [] };
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: recordsPrefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          const name = (object.Key ?? '').slice(recordsPrefix.length);
          const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
          if (!DROP_ID.test(id)) continue;
          const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
          const record = parseDropRecord((await got.Body?.transformToString('utf8')) ?? '');
          if (record?.id === id) out.records.push(record);
          else out.damaged.push(id);
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return out;
    },
    async writeRecord(record: DropRecord): Promise<void> {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: recordKey(record.id),
          Body: serializeDropRecord(record),
          ContentType: 'application/json',
        }),
      );
    },
    async deleteRecord(id: string): Promise<void> {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: recordKey(id) }));
    },
    async read(id: string, start: number): Promise<Readable> {
      const got = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${id}`, Range: `bytes=${start}-` }),
      );
      if (!(got.Body instanceof Readable)) throw new Error('S3 returned no body');
      return got.Body;
    },
    async deleteData(id: string): Promise<void> {
      const key = `${prefix}${id}`;
      // Aborts an unfinished multipart upload; a finished one has none (and a missing drop nothing at all).
      await uploads.remove(key).catch((err: unknown) => {
        if (!isMissing(err) && (err as { status_code?: number }).status_code !== 404) throw err;
      });
      await cache.delete(key);
      await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: [{ Key: key }, { Key: `${key}.info` }, { Key: `${key}.part` }], Quiet: true },
        }),
      );
    },
    close(): void {
      client.destroy();
    },
  };
}
