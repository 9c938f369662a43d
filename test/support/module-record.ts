import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The `--import` file that records every module a node process loads (see module-recorder.js). */
export const MODULE_RECORDER = fileURLToPath(new URL('./module-recorder.js', import.meta.url));

/** The distinct module URLs a process run with {@link MODULE_RECORDER} wrote to `file`. */
export async function recordedModules(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return [...new Set(text.split('\n').filter((line) => line !== ''))].sort();
}

/** The npm packages (`name` or `@scope/name`) the URLs belong to, sorted. */
export function packagesOf(urls: readonly string[]): string[] {
  const names = new Set<string>();
  for (const url of urls) {
    const at = url.lastIndexOf('/node_modules/');
    if (at < 0) continue;
    const [first = '', second = ''] = url.slice(at + '/node_modules/'.length).split('/');
    names.add(first.startsWith('@') ? `${first}/${second}` : first);
  }
  return [...names].sort();
}

/** The URLs of `urls` that match any of `patterns`, for an assertion that names what was loaded. */
export function matching(urls: readonly string[], patterns: readonly RegExp[]): string[] {
  return urls.filter((url) => patterns.some((pattern) => pattern.test(url)));
}
