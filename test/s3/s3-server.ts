/**
 * A local S3-compatible server for the drop tests: s3rver on 127.0.0.1, plus the two multipart calls it lacks and
 * @tus/s3-store makes — ListParts (GET ?uploadId, to resume an upload) and AbortMultipartUpload (DELETE ?uploadId,
 * to delete an unfinished one) — answered from s3rver's own part files. Test harness only; the relay talks plain S3.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startLocalS3(directory: string, bucket = 'drops'): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory,
    silent: true,
    allowMismatchedSignatures: true,
    configureBuckets: [{ name: bucket }],
  });
  // Before the router (the last middleware), after the one that turns plain objects into XML.
  server.middleware.splice(server.middleware.length - 1, 0, async (ctx, next) => {
    const uploadId = ctx.query.uploadId;
    if (uploadId === undefined || !/^[0-9a-f]{32}$/.test(uploadId) || (ctx.method !== 'GET' && ctx.method !== 'DELETE'))
      return next();
    const [, name = '', ...keyParts] = ctx.path.split('/');
    const dir = join(server.store.getResourcePath(name, undefined, 'uploads'), uploadId);
    const exists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (!exists) {
      ctx.status = 404;
      ctx.body = { Error: { Code: 'NoSuchUpload', Message: 'The specified upload does not exist.' } };
      return;
    }
    if (ctx.method === 'DELETE') {
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = '';
      return;
    }
    const numbers = (await readdir(dir))
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .sort((a, b) => a - b);
    const parts = await Promise.all(
      numbers.map(async (n) => {
        const info = await stat(join(dir, String(n)));
        const md5 = await readFile(join(dir, `${n}.md5`), 'utf8');
        return { PartNumber: n, ETag: `"${md5}"`, Size: info.size, LastModified: info.mtime.toISOString() };
      }),
    );
    ctx.status = 200;
    ctx.body = {
      ListPartsResult: {
        Bucket: name,
        Key: decodeURIComponent(keyParts.join('/')),
        UploadId: uploadId,
        MaxParts: 1000,
        IsTruncated: false,
        ...(parts.length > 0 ? { Part: parts } : {}),
      },
    };
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    close: () => server.close(),
  };
}
