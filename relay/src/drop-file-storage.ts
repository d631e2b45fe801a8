/**
 * Drops in a directory (`--storage DIR`): `uploads/<id>` holds the bytes and `uploads/<id>.json` the tus upload state
 * (@tus/file-store), `records/<id>.json` the drop record (drop-record.ts), replaced by writing a temporary file
 * beside it and renaming it over the old one, so a crash leaves one whole version.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { DROP_ID, parseDropRecord, serializeDropRecord, type DropRecord } from './drop-record.js';
import type { DropStorage, StoredRecords } from './drop-storage.js';

const TEMP = /^\..+\.tmp$/;

export async function openFileStorage(dir: string): Promise<DropStorage> {
  const root = resolve(dir);
  const uploadsDir = join(root, 'uploads');
  const recordsDir = join(root, 'records');
  await mkdir(uploadsDir, { recursive: true, mode: 0o700 });
  await mkdir(recordsDir, { recursive: true, mode: 0o700 });
  // Temporary records a crash left behind: the rename never happened, so the old record (if any) stands.
  for (const name of await readdir(recordsDir)) if (TEMP.test(name)) await rm(join(recordsDir, name), { force: true });
  const uploads = new FileStore({ directory: uploadsDir });
  const recordPath = (id: string): string => join(recordsDir, `${id}.json`);

  return {
    description: root,
    uploads,
    uploadKey: (id) => id,
    async records(): Promise<StoredRecords> {
      const out: StoredRecords = { records: [], damaged: [] };
      for (const name of await readdir(recordsDir)) {
        const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
        if (!DROP_ID.test(id)) continue;
        const record = parseDropRecord(await readFile(join(recordsDir, name), 'utf8'));
        if (record?.id === id) out.records.push(record);
        else out.damaged.push(id);
      }
      return out;
    },
    async writeRecord(record: DropRecord): Promise<void> {
      const temp = join(recordsDir, `.${record.id}.${randomBytes(4).toString('hex')}.tmp`);
      await writeFile(temp, serializeDropRecord(record), { mode: 0o600, flush: true });
      await rename(temp, recordPath(record.id));
    },
    async deleteRecord(id: string): Promise<void> {
      await rm(recordPath(id), { force: true });
    },
    read(id: string, start: number): Promise<Readable> {
      const stream = createReadStream(join(uploadsDir, id), { start });
      return new Promise((resolveStream, reject) => {
        stream.once('open', () => {
          stream.off('error', reject);
          resolveStream(stream);
        });
        stream.once('error', reject);
      });
    },
    async deleteData(id: string): Promise<void> {
      await rm(join(uploadsDir, id), { force: true });
      await rm(join(uploadsDir, `${id}.json`), { force: true });
    },
    close(): void {},
  };
}
