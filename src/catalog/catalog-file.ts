import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decompress } from 'fzstd';
import { open } from 'lmdb';
import { CatalogError, errorMessage } from '../errors/errors.js';
import { Catalog } from './catalog.js';
import type { CatalogItem } from './catalog-item.js';
import { itemFromRecord, recordFromItem } from './catalog-record.js';
import { lmdbHeaderProblem } from './lmdb-header.js';
import { zstdCompress } from './zstd-compress.js';

/** Size of a record key: the item id as an unsigned 64-bit big-endian integer. */
const KEY_BYTES = 8;
/** zstd level for written snapshots: they are written rarely and shipped, so favour size. */
const ZSTD_LEVEL = 19;
const DB_FILE = 'catalog.lmdb';

// Re-exported for the modules that read the sample and name it in one import.
export { sampleCatalogPath } from './sample-catalog-path.js';

/**
 * Read a catalog snapshot: a zstd-compressed single-file LMDB database whose keys are item ids
 * (8-byte big-endian) and whose values are compact JSON records.
 * @throws CatalogError naming `path` when the file is missing, not zstd, not LMDB or holds a bad record.
 */
export async function readCatalogFile(path: string): Promise<Catalog> {
  const compressed = await readFile(path).catch((err: unknown) => {
    throw new CatalogError(`catalog ${path}: cannot read file (${errorMessage(err)})`, { cause: err });
  });
  let lmdbBytes: Uint8Array;
  try {
    lmdbBytes = decompress(compressed);
  } catch (err) {
    throw new CatalogError(`catalog ${path}: not a zstd file (${errorMessage(err)})`, { cause: err });
  }
  const problem = lmdbHeaderProblem(lmdbBytes);
  if (problem !== null) throw new CatalogError(`catalog ${path}: ${problem}`);

  const dir = await mkdtemp(join(tmpdir(), 'voodoo-catalog-'));
  try {
    const dbPath = join(dir, DB_FILE);
    await writeFile(dbPath, lmdbBytes);
    return Catalog.fromItems(await readItems(dbPath, path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Write `items` as a catalog snapshot at `path` (atomically: a reader sees the old file or the
 * new one). Every item is checked to read back through {@link itemFromRecord} first.
 * @throws CatalogError when an item is invalid or two items share an id.
 */
export async function writeCatalogFile(path: string, items: readonly CatalogItem[]): Promise<void> {
  const values = new Map<number, string>();
  for (const item of items) {
    if (values.has(item.id)) throw new CatalogError(`catalog item ${item.id}: duplicate id`);
    const record = recordFromItem(item);
    itemFromRecord(record);
    values.set(item.id, JSON.stringify(record));
  }

  const dir = await mkdtemp(join(tmpdir(), 'voodoo-catalog-'));
  try {
    const dbPath = join(dir, DB_FILE);
    const db = open({ path: dbPath, keyEncoding: 'binary', encoding: 'binary', compression: false });
    try {
      db.transactionSync(() => {
        for (const [id, json] of values) db.putSync(keyFor(id), Buffer.from(json, 'utf8'));
      });
    } finally {
      await db.close();
    }
    const compressed = await zstdCompress(await readFile(dbPath), ZSTD_LEVEL);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.${randomUUID()}.partial`;
    try {
      await writeFile(partial, compressed);
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readItems(dbPath: string, path: string): Promise<CatalogItem[]> {
  let db: ReturnType<typeof open<Buffer, Buffer>>;
  try {
    db = open<Buffer, Buffer>({ path: dbPath, readOnly: true, keyEncoding: 'binary', encoding: 'binary' });
  } catch (err) {
    throw new CatalogError(`catalog ${path}: not a readable LMDB database (${errorMessage(err)})`, { cause: err });
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    const items: CatalogItem[] = [];
    for (const { key, value } of db.getRange()) {
      if (key.length !== KEY_BYTES) {
        throw new CatalogError(`catalog ${path}: key ${key.toString('hex')} is not an 8-byte item id`);
      }
      const id = key.readBigUInt64BE();
      let json: unknown;
      try {
        json = JSON.parse(decoder.decode(value));
      } catch (err) {
        throw new CatalogError(`catalog ${path}: item ${id}: value is not JSON (${errorMessage(err)})`, { cause: err });
      }
      const item = withPath(path, () => itemFromRecord(json));
      if (BigInt(item.id) !== id) {
        throw new CatalogError(`catalog ${path}: key ${id} holds the record of item ${item.id}`);
      }
      items.push(item);
    }
    return items;
  } finally {
    await db.close();
  }
}

function keyFor(id: number): Buffer {
  const key = Buffer.alloc(KEY_BYTES);
  key.writeBigUInt64BE(BigInt(id));
  return key;
}

function withPath<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof CatalogError) throw new CatalogError(`catalog ${path}: ${err.message}`, { cause: err });
    throw err;
  }
}

