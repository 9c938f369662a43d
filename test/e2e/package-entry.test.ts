import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import { matching, MODULE_RECORDER, packagesOf, recordedModules } from '../support/module-record.js';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGE = '/node_modules/voodoo-fulfillment/';

/** What a producer importing the package root must not pay for: HTTP server and client, LMDB, zstd, the sandbox. */
const NOT_FOR_PRODUCERS = [
  /\/node_modules\/fastify\//,
  /\/node_modules\/(@lmdb\/|lmdb\/)/,
  /\/node_modules\/got\//,
  /\/node_modules\/fzstd\//,
  /\/node_modules\/voodoo-fulfillment\/dist\/sandbox(\/|\.js)/,
];

/**
 * The published package as a user gets it: `npm pack`, unpacked into a fresh project's
 * node_modules, its declared dependencies linked from this checkout's node_modules (no network).
 * Only the declared dependencies are visible at the project's top level, as after `npm install`.
 */
let project = '';
/** The paths `npm pack` put in the tarball. */
let packedFiles: string[] = [];

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'vf-package-entry-'));
  // --ignore-scripts: `prepack` would rebuild dist/ under the other e2e files' processes; the global
  // setup built it from an empty dist/ already.
  const packed = await execFileAsync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], {
    cwd: ROOT,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  packedFiles = files.map((f) => f.path);
  const modules = join(project, 'node_modules');
  await mkdir(modules);
  await execFileAsync('tar', ['-xzf', join(project, filename), '-C', modules]);
  await rename(join(modules, 'package'), join(modules, 'voodoo-fulfillment'));
  const manifest = JSON.parse(await readFile(join(modules, 'voodoo-fulfillment', 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const ours = await realpath(join(ROOT, 'node_modules'));
  // @types/node: the consumer type check below reads the package's declarations as a TypeScript user would.
  for (const name of [...Object.keys(manifest.dependencies), '@types/node']) {
    await mkdir(dirname(join(modules, name)), { recursive: true });
    await symlink(join(ours, name), join(modules, name), 'dir');
  }
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
}, 60_000);

afterAll(async () => {
  if (project !== '') await rm(project, { recursive: true, force: true });
});

/** Run `script` as an ES module of the fresh project, recording what it loads; its stdout as JSON, and the record. */
async function runInProject(name: string, script: string): Promise<{ output: unknown; modules: string[] }> {
  const file = join(project, `${name}.mjs`);
  const record = join(project, `${name}.modules`);
  await writeFile(file, script);
  const { stdout } = await execFileAsync(process.execPath, ['--import', MODULE_RECORDER, file, project], {
    cwd: project,
    env: { PATH: process.env.PATH ?? '', MODULE_RECORD_FILE: record },
  });
  return { output: JSON.parse(stdout) as unknown, modules: await recordedModules(record) };
}

function exportsOf(specifier: string): string {
  return `const entry = await import(${JSON.stringify(specifier)});\nconsole.log(JSON.stringify(Object.keys(entry).sort()));\n`;
}

describe('the packed package', () => {
  it('holds the product only: no development tools, no stale build output of them', () => {
    expect(packedFiles).toContain('dist/cli.js');
    expect(packedFiles).toContain('dist/index.js');
    const tools = packedFiles.filter((path) => /^tools\/|^dist\/(dev|bench|chaos|fleet|demo)\/|^dist\/cli\/(demo|bench|chaos|dev)-/.test(path));
    expect(tools).toEqual([]);
    expect(packedFiles.every((path) => /^(dist\/|catalog\/|README\.md$|package\.json$|LICENSE)/.test(path))).toBe(true);
  });

  it('root: exports the producer API and loads no HTTP server, LMDB, got, zstd or sandbox module', async () => {
    const { output, modules } = await runInProject('root', exportsOf('voodoo-fulfillment'));
    expect(modules.some((url) => url.endsWith(`${PACKAGE}dist/index.js`)), 'the record holds the root entry').toBe(true);
    expect(matching(modules, NOT_FOR_PRODUCERS)).toEqual([]);
    // zod checks the intents; anything more is a dependency a producer pays for at import.
    expect(packagesOf(modules)).toEqual(['voodoo-fulfillment', 'zod']);
    expect(output).toEqual(
      [
        'FulfillmentError',
        'INTENTS_QUEUE',
        'InvalidIntentError',
        'RESULTS_QUEUE',
        'consumeResults',
        'enqueueOrder',
        'enqueueOrders',
        'intentJobId',
        'partitionOf',
        'partitionPrefixes',
        'resolutionJobId',
        'resultJobId',
      ].sort(),
    );
  });

  it('voodoo-fulfillment/client: exports the API client, token provider and webhook signature, without the sandbox or LMDB', async () => {
    const { output, modules } = await runInProject('client', exportsOf('voodoo-fulfillment/client'));
    expect(output).toEqual(['RedisTokenProvider', 'SIGNATURE_HEADER', 'createVoodooClient', 'signWebhook', 'verifyWebhookSignature'].sort());
    // The client speaks node:http itself: no HTTP library comes with it.
    expect(packagesOf(modules)).not.toContain('got');
    expect(matching(modules, [/\/node_modules\/fastify\//, /\/node_modules\/(@lmdb\/|lmdb\/)/, /voodoo-fulfillment\/dist\/sandbox(\/|\.js)/])).toEqual([]);
  });

  it('voodoo-fulfillment/sandbox: exports the sandbox and its catalog helpers, and the two entries work together', async () => {
    const { output: names } = await runInProject('sandbox', exportsOf('voodoo-fulfillment/sandbox'));
    expect(names).toEqual(['Catalog', 'defaultSandboxCatalog', 'readCatalogFile', 'startSandbox', 'writeCatalogFile'].sort());

    const { output } = await runInProject(
      'together',
      `import { join } from 'node:path';
import { pino } from 'pino';
import { createVoodooClient, signWebhook, verifyWebhookSignature } from 'voodoo-fulfillment/client';
import { Catalog, defaultSandboxCatalog, readCatalogFile, startSandbox, writeCatalogFile } from 'voodoo-fulfillment/sandbox';

const snapshot = join(process.argv[2], 'items.lmdb.zst');
await writeCatalogFile(snapshot, defaultSandboxCatalog().items());
const catalog = await readCatalogFile(snapshot);
const sandbox = await startSandbox({ apiKey: 'ak_test_package_entry', catalog, initialBalance: 42 });
try {
  let token;
  const client = createVoodooClient({
    baseUrl: sandbox.url,
    apiKey: 'ak_test_package_entry',
    timeoutMs: 5000,
    logger: pino({ level: 'silent' }),
    tokens: (exchange) => ({
      getToken: async () => (token ??= (await exchange()).token),
      invalidate: async () => { token = undefined; },
    }),
  });
  const balance = await client.getBalance();
  client.close();
  const body = '{"order_id":"o-1"}';
  console.log(JSON.stringify({
    balance,
    items: catalog.size,
    isCatalog: catalog instanceof Catalog,
    signature: verifyWebhookSignature('s3cret', Buffer.from(body), signWebhook('s3cret', body)),
  }));
} finally {
  await sandbox.close();
}
`,
    );
    expect(output).toEqual({ balance: 42, items: sampleCatalogItems().length, isCatalog: true, signature: true });
  });

  it('gives TypeScript users the types of every entry (the "types" conditions resolve)', async () => {
    await writeFile(
      join(project, 'consumer.ts'),
      `import { enqueueOrder, FulfillmentError, InvalidIntentError, INTENTS_QUEUE, intentJobId, RESULTS_QUEUE, resultJobId } from 'voodoo-fulfillment';
import type { EnqueueOptions, ErrorCode, OrderIntent, OrderResult, ResultSource, ResultStatus, ResultWarning } from 'voodoo-fulfillment';
import { createVoodooClient, RedisTokenProvider, SIGNATURE_HEADER, signWebhook, verifyWebhookSignature } from 'voodoo-fulfillment/client';
import type { CreateOrderRequest, Order, OrderStatus, TokenProvider, VoodooClient, VoodooClientOptions } from 'voodoo-fulfillment/client';
import { Catalog, defaultSandboxCatalog, readCatalogFile, startSandbox, writeCatalogFile } from 'voodoo-fulfillment/sandbox';
import type { CatalogItem, FaultConfig, LocalSandbox, Sandbox, SandboxOptions } from 'voodoo-fulfillment/sandbox';

const intent: OrderIntent = { merchant_order_id: 'm-1', item_id: 4090 };
const status: ResultStatus = 'rejected';
const source: ResultSource = 'worker';
const warning: ResultWarning = 'price_above_max';
const code: ErrorCode = 'invalid_intent';
const options: EnqueueOptions = { retentionSeconds: 60 };
const orderStatus: OrderStatus = 'completed';
const request: CreateOrderRequest = { itemId: 4090, merchantOrderId: 'm-1' };
const faults: FaultConfig = {};
const sandboxOptions: SandboxOptions = { apiKey: 'ak_x', faults };
export const used = [enqueueOrder, FulfillmentError, InvalidIntentError, INTENTS_QUEUE, intentJobId(intent.merchant_order_id), RESULTS_QUEUE,
  resultJobId, createVoodooClient, RedisTokenProvider, SIGNATURE_HEADER, signWebhook, verifyWebhookSignature, Catalog, defaultSandboxCatalog,
  readCatalogFile, startSandbox, writeCatalogFile, status, source, warning, code, options, orderStatus, request, sandboxOptions];
export type Used = [OrderResult, Order, TokenProvider, VoodooClient, VoodooClientOptions, CatalogItem, LocalSandbox, Sandbox];
`,
    );
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const errors = await execFileAsync(process.execPath, [tsc, '-p', project], { cwd: project }).then(
      () => '',
      (err: Error & { stdout?: string }) => err.stdout || err.message,
    );
    expect(errors).toBe('');
  });
});
