import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CatalogField, CatalogItem } from '../catalog/catalog-item.js';
import { sampleCatalogPath } from '../catalog/sample-catalog-path.js';
import { CatalogError, errorMessage } from '../errors/errors.js';

/** Where the catalog commands print; `process.stdout` unless a test passes its own. */
export interface CatalogOutput {
  write(text: string): unknown;
}

/** `voodoo-fulfillment catalog sample|build|show`: write and inspect catalog snapshots. */
export function registerCatalogCommand(program: Command, output: CatalogOutput = process.stdout): void {
  const catalog = program
    .command('catalog')
    .description('write and inspect catalog snapshots (zstd-compressed LMDB, as exported by Voodoo Center)');

  catalog
    .command('sample')
    .alias('build-sample')
    .description('write the built-in sample catalog as a snapshot')
    .option('--out <path>', 'snapshot file to write', sampleCatalogPath())
    .action(async (opts: { out: string }) => {
      const [{ writeCatalogFile }, { sampleCatalogItems }] = await Promise.all([
        import('../catalog/catalog-file.js'),
        import('../catalog/sample-items.js'),
      ]);
      const items = sampleCatalogItems();
      await writeCatalogFile(opts.out, items);
      output.write(`wrote ${items.length} items to ${opts.out}\n`);
    });

  catalog
    .command('build')
    .description('write a snapshot from a JSON array of records in the snapshot\'s own key names (as `show --json` prints)')
    .requiredOption('--from <items.json>', 'JSON file holding an array of item records')
    .requiredOption('--out <path>', 'snapshot file to write')
    .action(async (opts: { from: string; out: string }) => {
      const { writeCatalogFile } = await import('../catalog/catalog-file.js');
      const items = await readRecordsFile(opts.from);
      await writeCatalogFile(opts.out, items);
      output.write(`wrote ${items.length} items to ${opts.out}\n`);
    });

  catalog
    .command('show')
    .description('print the items of a snapshot (default: the shipped sample)')
    .argument('[path]', 'snapshot file to read')
    .option('--json', 'print a JSON array of records (the input format of `catalog build`)')
    .action(async (path: string | undefined, opts: { json?: boolean }) => {
      const [{ readCatalogFile }, { NO_MAX_QUANTITY, recordFromItem }] = await Promise.all([
        import('../catalog/catalog-file.js'),
        import('../catalog/catalog-record.js'),
      ]);
      const items = (await readCatalogFile(path ?? sampleCatalogPath())).items();
      output.write(opts.json === true ? `${JSON.stringify(items.map(recordFromItem), null, 2)}\n` : itemTable(items, NO_MAX_QUANTITY));
    });
}

async function readRecordsFile(path: string): Promise<CatalogItem[]> {
  const { itemFromRecord } = await import('../catalog/catalog-record.js');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CatalogError(`${path}: cannot read a JSON file (${errorMessage(err)})`, { cause: err });
  }
  if (!Array.isArray(json)) throw new CatalogError(`${path}: expected a JSON array of item records`);
  return json.map((record: unknown, index) => {
    try {
      return itemFromRecord(record);
    } catch (err) {
      if (err instanceof CatalogError) throw new CatalogError(`${path}: record ${index}: ${err.message}`, { cause: err });
      throw err;
    }
  });
}

/** A text table of `items`; `noMaxQuantity` is the max quantity that means "no limit". */
function itemTable(items: readonly CatalogItem[], noMaxQuantity: number): string {
  const header = ['id', 'type', 'name', 'price', 'subscriber', 'stock', 'quantity', 'fields'];
  const rows = items.map((item) => [
    String(item.id),
    item.productType,
    item.name,
    String(item.price),
    item.subscriberPrice === null ? '-' : String(item.subscriberPrice),
    item.stock === null ? 'unlimited' : String(item.stock),
    `${item.minQuantity}..${item.maxQuantity === noMaxQuantity ? '' : item.maxQuantity}`,
    item.fields.map(describeField).join(', ') || '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].map((text) => `${text}\n`).join('');
}

function describeField(field: CatalogField): string {
  const name = field.required ? `${field.name}*` : field.name;
  return field.kind === 'text' ? name : `${name}[${field.options.map((option) => option.id).join('|')}]`;
}
