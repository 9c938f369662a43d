import { fileURLToPath } from 'node:url';

/**
 * The sample snapshot shipped with the package (`catalog/sample-catalog.lmdb.zst`). Apart from the
 * reader so that naming the file (a CLI default) loads no LMDB.
 */
export function sampleCatalogPath(): string {
  // Two levels below the package root both as src/catalog/ (vitest) and dist/catalog/ (built).
  return fileURLToPath(new URL('../../catalog/sample-catalog.lmdb.zst', import.meta.url));
}
