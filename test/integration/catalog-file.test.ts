import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from 'fzstd';
import { open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readCatalogFile, sampleCatalogPath, writeCatalogFile } from '../../src/catalog/catalog-file.js';
import type { CatalogItem } from '../../src/catalog/catalog-item.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { zstdCompress } from '../../src/catalog/zstd-compress.js';
import { CatalogError } from '../../src/errors/errors.js';

let dir: string;
/** Where the code under test puts its own temp dirs (TMPDIR is pointed here). */
let scratch: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'catalog-file-test-'));
  scratch = join(dir, 'scratch');
  await mkdir(scratch);
  vi.stubEnv('TMPDIR', scratch);
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

function idKey(id: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(id));
  return key;
}

/** Build a snapshot byte by byte, bypassing writeCatalogFile's checks. */
async function writeRawSnapshot(path: string, entries: ReadonlyArray<readonly [Buffer, Buffer]>): Promise<void> {
  const lmdbPath = join(dir, `raw-${entries.length}.lmdb`);
  const db = open<Buffer, Buffer>({ path: lmdbPath, keyEncoding: 'binary', encoding: 'binary' });
  try {
    db.transactionSync(() => {
      for (const [key, value] of entries) db.putSync(key, value);
    });
  } finally {
    await db.close();
  }
  await writeFile(path, await zstdCompress(await readFile(lmdbPath), 3));
}

function giftCard(): CatalogItem {
  const item = sampleCatalogItems().find((candidate) => candidate.id === 4090);
  if (item === undefined) throw new Error('sample item 4090 is gone');
  return item;
}

function record(id: number, name = `Item ${id}`): Buffer {
  return Buffer.from(JSON.stringify({ id, name, price: 1, product_type: 'key' }));
}

async function catalogErrorFrom(path: string): Promise<CatalogError> {
  const err: unknown = await readCatalogFile(path).then(
    () => new Error('readCatalogFile accepted the file'),
    (e: unknown) => e,
  );
  if (!(err instanceof CatalogError)) throw err;
  expect(err.code).toBe('catalog_invalid');
  expect(err.message).toContain(path);
  // Its private copy of the database is gone even though the read failed.
  expect(await readdir(scratch)).toEqual([]);
  return err;
}

describe('writeCatalogFile then readCatalogFile', () => {
  it('reads back every item it wrote, in id order', async () => {
    const path = join(dir, 'catalog.lmdb.zst');
    const items = sampleCatalogItems().reverse();
    await writeCatalogFile(path, items);
    const catalog = await readCatalogFile(path);
    expect(catalog.items()).toEqual(sampleCatalogItems().sort((a, b) => a.id - b.id));
    expect(catalog.get(5100)?.fields).toHaveLength(2);
  });

  it('writes a zstd file, keyed by 8-byte big-endian ids holding compact JSON', async () => {
    const path = join(dir, 'catalog.lmdb.zst');
    await writeCatalogFile(path, sampleCatalogItems().slice(0, 1));
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 4).toString('hex')).toBe('28b52ffd');
  });

  it('leaves only the target file behind, replacing an older one, and cleans its temp dir', async () => {
    const path = join(dir, 'out', 'catalog.lmdb.zst');
    await writeCatalogFile(path, sampleCatalogItems());
    await writeCatalogFile(path, sampleCatalogItems().slice(0, 2));
    expect(await readdir(join(dir, 'out'))).toEqual(['catalog.lmdb.zst']);
    expect((await readCatalogFile(path)).size).toBe(2);
    expect(await readdir(scratch)).toEqual([]);
  });

  it('writes an empty catalog', async () => {
    const path = join(dir, 'empty.lmdb.zst');
    await writeCatalogFile(path, []);
    expect((await readCatalogFile(path)).size).toBe(0);
  });

  it('refuses two items with the same id and writes nothing', async () => {
    const path = join(dir, 'dup.lmdb.zst');
    const first = giftCard();
    await expect(writeCatalogFile(path, [first, { ...first, name: 'again' }])).rejects.toThrow(/catalog item 4090: duplicate id/);
    await expect(readdir(dir)).resolves.toEqual(['scratch']);
  });

  it('refuses an item its own reader would reject', async () => {
    const first = giftCard();
    await expect(writeCatalogFile(join(dir, 'bad.lmdb.zst'), [{ ...first, price: -1 }])).rejects.toBeInstanceOf(CatalogError);
  });
});

describe('the shipped sample snapshot', () => {
  it('reads back equal to sampleCatalogItems()', async () => {
    const catalog = await readCatalogFile(sampleCatalogPath());
    expect(catalog.items()).toEqual(sampleCatalogItems().sort((a, b) => a.id - b.id));
  });
});

describe('readCatalogFile on a bad file', () => {
  it('names the path when the file is missing', async () => {
    const err = await catalogErrorFrom(join(dir, 'missing.lmdb.zst'));
    expect(err.message).toMatch(/cannot read file/);
  });

  it('says so when the file is not zstd', async () => {
    const path = join(dir, 'plain.lmdb.zst');
    await writeFile(path, 'id,name\n4090,gift card\n');
    expect((await catalogErrorFrom(path)).message).toMatch(/not a zstd file/);
  });

  it('says so when the zstd stream is cut short', async () => {
    const path = join(dir, 'cut.lmdb.zst');
    await writeCatalogFile(path, sampleCatalogItems());
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 40));
    expect((await catalogErrorFrom(path)).message).toMatch(/not a zstd file/);
  });

  it.each([
    ['empty', Buffer.alloc(0), /too short/],
    ['text', Buffer.from('not a database at all, just words. '.repeat(300)), /not an LMDB file/],
  ])('says so when the zstd content is %s, not LMDB', async (_what, content, message) => {
    const path = join(dir, 'not-lmdb.lmdb.zst');
    await writeFile(path, await zstdCompress(content, 3));
    expect((await catalogErrorFrom(path)).message).toMatch(message);
  });

  it('rejects an LMDB file missing its last page (which would crash lmdb)', async () => {
    const good = join(dir, 'good.lmdb.zst');
    await writeRawSnapshot(good, [[idKey(1), record(1)]]);
    const lmdbBytes = decompress(await readFile(good));
    const path = join(dir, 'truncated.lmdb.zst');
    await writeFile(path, await zstdCompress(lmdbBytes.subarray(0, lmdbBytes.length - 4096), 3));
    expect((await catalogErrorFrom(path)).message).toMatch(/truncated LMDB file/);
  });

  it('rejects a database in LMDB data format 1, which the installed lmdb build cannot read', async () => {
    // An LMDB 0.9 meta page: 16-byte page header (flags = P_META), then magic and version 1.
    const page = Buffer.alloc(8192);
    page.writeUInt16LE(0x08, 10);
    page.writeUInt32LE(0xbeefc0de, 16);
    page.writeUInt32LE(1, 20);
    const path = join(dir, 'v1.lmdb.zst');
    await writeFile(path, await zstdCompress(page, 3));
    expect((await catalogErrorFrom(path)).message).toMatch(/LMDB data format 1/);
  });

  it('rejects a record stored under another item id', async () => {
    const path = join(dir, 'mismatch.lmdb.zst');
    await writeRawSnapshot(path, [
      [idKey(1), record(1)],
      [idKey(2), record(3)],
    ]);
    expect((await catalogErrorFrom(path)).message).toMatch(/key 2 holds the record of item 3/);
  });

  it('rejects a key that is not an 8-byte id', async () => {
    const path = join(dir, 'short-key.lmdb.zst');
    await writeRawSnapshot(path, [[Buffer.from([0, 0, 0, 1]), record(1)]]);
    expect((await catalogErrorFrom(path)).message).toMatch(/key 00000001 is not an 8-byte item id/);
  });

  it('rejects a value that is not JSON, naming the item', async () => {
    const path = join(dir, 'not-json.lmdb.zst');
    await writeRawSnapshot(path, [[idKey(7), Buffer.from('{"id":7,')]]);
    expect((await catalogErrorFrom(path)).message).toMatch(/item 7: value is not JSON/);
  });

  it('rejects a record the mapper rejects, naming the item and key', async () => {
    const path = join(dir, 'bad-record.lmdb.zst');
    const bad = Buffer.from(JSON.stringify({ id: 9, name: 'Nine', price: 'free', product_type: 'key' }));
    await writeRawSnapshot(path, [[idKey(9), bad]]);
    expect((await catalogErrorFrom(path)).message).toMatch(/catalog item 9: price:/);
  });
});
