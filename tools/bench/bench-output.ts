import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchReport } from './bench-report.js';

/** Where {@link writeBenchResults} wrote. */
export interface BenchOutputPaths {
  json: string;
  markdown: string;
}

/** Write through a temp file and rename, so a reader never sees half a report. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, path);
}

/** Write `latest.json` and `latest.md` into `dir` (created if missing), replacing the previous run's. */
export async function writeBenchResults(dir: string, report: BenchReport, markdown: string): Promise<BenchOutputPaths> {
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, 'latest.json'), markdown: join(dir, 'latest.md') };
  await writeAtomically(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(paths.markdown, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return paths;
}
