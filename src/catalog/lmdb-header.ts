/*
 * The installed lmdb build (lmdb-js 3, LMDB data format 2) does not fail cleanly on a file it
 * cannot read: an empty, truncated or foreign file, or one in LMDB's classic data format 1, kills
 * the process with SIGSEGV/SIGBUS instead of throwing. So before a file is handed to it, its meta
 * pages are checked here, in JS, where a bad file can only raise an error.
 *
 * Format-2 page layout (64-bit): a 24-byte page header (pgno u64, txnid u64, pad u16, flags u16,
 * lower/upper u16 x2), then on the two meta pages the MDB_meta struct. Format 1 (LMDB 0.9, what
 * most other LMDB libraries write) has a 16-byte page header, so its magic sits at byte 16.
 */

const MDB_MAGIC = 0xbeefc0de;
const P_META = 0x08;
const SUPPORTED_VERSION = 2;
const V2_PAGE_HEADER = 24;
const V1_PAGE_HEADER = 16;
// Offsets inside MDB_meta (format 2, 64-bit).
const META_VERSION = 4;
const META_PAGE_SIZE = 24; // mm_dbs[FREE_DBI].md_pad doubles as the page size
const META_LAST_PAGE = 120;
const META_TXNID = 128;
const META_SIZE = 136;
const MIN_PAGE_SIZE = 512;
const MAX_PAGE_SIZE = 65_536;

/**
 * Why `bytes` is not an LMDB data file the installed lmdb build can open safely, or null when its
 * meta pages look sound. It cannot vouch for the B-tree pages behind them.
 */
export function lmdbHeaderProblem(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < V2_PAGE_HEADER + META_SIZE) return `too short to be an LMDB file (${bytes.byteLength} bytes)`;
  if (view.getUint32(V2_PAGE_HEADER, true) !== MDB_MAGIC) {
    if (view.getUint32(V1_PAGE_HEADER, true) === MDB_MAGIC) {
      const version = view.getUint32(V1_PAGE_HEADER + META_VERSION, true) & 0xffff;
      return `LMDB data format ${version}; the installed lmdb build reads only format ${SUPPORTED_VERSION}`;
    }
    return 'not an LMDB file (no LMDB magic number)';
  }
  const pageSize = view.getUint32(V2_PAGE_HEADER + META_PAGE_SIZE, true);
  if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) {
    return `implausible LMDB page size ${pageSize}`;
  }
  if (bytes.byteLength < 2 * pageSize) return 'truncated LMDB file (missing meta pages)';
  let newest: { lastPage: bigint; txnid: bigint } | undefined;
  for (const offset of [0, pageSize]) {
    const meta = offset + V2_PAGE_HEADER;
    if ((view.getUint16(offset + 18, true) & P_META) === 0 || view.getUint32(meta, true) !== MDB_MAGIC) {
      return `corrupt LMDB meta page at byte ${offset}`;
    }
    const version = view.getUint32(meta + META_VERSION, true) & 0xffff;
    if (version !== SUPPORTED_VERSION) {
      return `LMDB data format ${version}; the installed lmdb build reads only format ${SUPPORTED_VERSION}`;
    }
    const txnid = view.getBigUint64(meta + META_TXNID, true);
    if (newest === undefined || txnid > newest.txnid) {
      newest = { lastPage: view.getBigUint64(meta + META_LAST_PAGE, true), txnid };
    }
  }
  if (newest !== undefined && BigInt(bytes.byteLength) < (newest.lastPage + 1n) * BigInt(pageSize)) {
    return 'truncated LMDB file (shorter than its last page)';
  }
  return null;
}
