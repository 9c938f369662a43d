/**
 * `voodoo-fulfillment/sandbox`: the local Voodoo Center API sandbox, to test an integration against
 * in process (the `sandbox` command runs the same server). `startSandbox` needs a catalog to sell
 * from, so the catalog helpers come with it: the sample items (`defaultSandboxCatalog`), your own
 * items (`Catalog.fromItems`), or your own snapshot file (`readCatalogFile`, the format a worker's
 * CATALOG_PATH reads; `writeCatalogFile` writes one for a test).
 */
export { defaultSandboxCatalog, startSandbox, type StartSandboxParams } from './sandbox/sandbox-server.js';
export type {
  FaultConfig,
  LocalSandbox,
  OutcomeMix,
  Sandbox,
  SandboxCallCounts,
  SandboxOptions,
  SandboxOrderRecord,
  SandboxStats,
} from './sandbox/sandbox-types.js';
export { Catalog } from './catalog/catalog.js';
export type { CatalogField, CatalogItem, ChoiceField, ChoiceOption, TextField } from './catalog/catalog-item.js';
export { readCatalogFile, writeCatalogFile } from './catalog/catalog-file.js';
