/** The drop API with `--storage s3://bucket/prefix` (drop-suite.ts), against a local S3 server (s3-server.ts). */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseS3Spec, s3ClientConfig } from '../src/drop-s3-storage.js';
import { dropSuite } from './drop-suite.js';
import { startLocalS3, type LocalS3 } from '../../test/s3/s3-server.js';

let s3: LocalS3;
let client: S3Client;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portunus-s3-'));
  s3 = await startLocalS3(dir);
  client = new S3Client(s3ClientConfig(s3.env));
});
afterAll(async () => {
  client.destroy();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

dropSuite('S3', {
  storage: () => Promise.resolve(`s3://${s3.bucket}/t${randomBytes(4).toString('hex')}/drops`),
  get env() {
    return s3.env;
  },
  async stored(storage) {
    const { bucket, prefix } = parseS3Spec(storage);
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((o) => o.Key ?? '');
  },
});

describe('--storage s3://', () => {
  it('reads the bucket and the prefix', () => {
    expect(parseS3Spec('s3://my-bucket/a/b/')).toEqual({ bucket: 'my-bucket', prefix: 'a/b/' });
    expect(parseS3Spec('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(() => parseS3Spec('s3://')).toThrow(/s3:\/\/bucket\/prefix/);
  });

  it('takes the endpoint, region and keys from the AWS variables, path-style with an endpoint', () => {
    const config = s3ClientConfig({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-west-3',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config).toMatchObject({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      region: 'eu-west-3',
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(s3ClientConfig({ AWS_ENDPOINT_URL_S3: 'http://a', AWS_ENDPOINT_URL: 'http://b' }).endpoint).toBe('http://a');
    expect(s3ClientConfig({})).not.toHaveProperty('endpoint');
  });
});
