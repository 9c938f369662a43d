import type * as ZstdWasm from '@bokuweb/zstd-wasm';

/*
 * @bokuweb/zstd-wasm is a process-wide singleton whose init() re-instantiates the WASM heap: calling
 * it again after use makes compress() return zeros (seen on the third call). So every compression
 * in the process goes through this one memoised init — the only module-level state in the
 * project, mirroring the library's own. The library is loaded on first use so that readers
 * (which decompress with fzstd) never load it.
 */
let ready: Promise<typeof ZstdWasm> | undefined;

/** Compress `bytes` into one zstd frame at `level` (1..22). */
export async function zstdCompress(bytes: Uint8Array, level: number): Promise<Uint8Array> {
  ready ??= import('@bokuweb/zstd-wasm').then(async (zstd) => {
    await zstd.init();
    return zstd;
  });
  const zstd = await ready;
  return zstd.compress(bytes, level);
}
