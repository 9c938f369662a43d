import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCatalogFile } from '../../src/catalog/catalog-file.js';
import { recordFromItem } from '../../src/catalog/catalog-record.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { registerCatalogCommand } from '../../src/cli/catalog-command.js';
import { CatalogError } from '../../src/errors/errors.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'catalog-command-test-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run `voodoo-fulfillment <args>` with only the catalog command registered; returns what it printed. */
async function run(...args: string[]): Promise<string> {
  let printed = '';
  const program = new Command('voodoo-fulfillment').exitOverride();
  registerCatalogCommand(program, { write: (text: string) => (printed += text) });
  await program.parseAsync(args, { from: 'user' });
  return printed;
}

describe('catalog sample', () => {
  it('writes the sample items to --out', async () => {
    const out = join(dir, 'sample.lmdb.zst');
    expect(await run('catalog', 'sample', '--out', out)).toBe(`wrote 5 items to ${out}\n`);
    expect((await readCatalogFile(out)).items()).toEqual(sampleCatalogItems().sort((a, b) => a.id - b.id));
  });
});

describe('catalog build', () => {
  it('writes a snapshot that `show --json` prints back as the same records', async () => {
    const records = sampleCatalogItems().map(recordFromItem);
    const from = join(dir, 'items.json');
    const out = join(dir, 'built.lmdb.zst');
    await writeFile(from, JSON.stringify(records));
    await run('catalog', 'build', '--from', from, '--out', out);
    expect(JSON.parse(await run('catalog', 'show', '--json', out))).toEqual(records);
  });

  it('names the file and record index of a bad record and writes nothing', async () => {
    const from = join(dir, 'items.json');
    const out = join(dir, 'built.lmdb.zst');
    await writeFile(from, JSON.stringify([...sampleCatalogItems().slice(0, 1).map(recordFromItem), { id: 12, name: 'x', price: 1 }]));
    const err: unknown = await run('catalog', 'build', '--from', from, '--out', out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogError);
    expect(String(err)).toMatch(/items\.json: record 1: catalog item 12: product_type:/);
    await expect(readCatalogFile(out)).rejects.toThrow(/cannot read file/);
  });

  it('rejects a file that is not a JSON array', async () => {
    const from = join(dir, 'items.json');
    await writeFile(from, '{"id": 1}');
    await expect(run('catalog', 'build', '--from', from, '--out', join(dir, 'x.zst'))).rejects.toThrow(/expected a JSON array/);
  });
});

describe('catalog show', () => {
  it('prints the shipped sample as a table by default', async () => {
    const lines = (await run('catalog', 'show')).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^id\s+type\s+name\s+price\s+subscriber\s+stock\s+quantity\s+fields$/);
    expect(lines).toHaveLength(6);
    expect(lines.find((line) => line.startsWith('5100'))).toMatch(/topup\s+Sample Game Credits Top-up\s+0\.95\s+0\.9\s+unlimited\s+5\.\.500\s+player_id\*, server\*\[17\|18\|19\]/);
  });
});
