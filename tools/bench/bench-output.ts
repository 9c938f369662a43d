import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchReport } from './bench-report.js';
import type { StepCostsReport } from './step-costs-report.js';

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

/** Write `steps.json` and `steps.md` (the step tracer's report, `bench --steps`) into `dir` (created if missing). */
export async function writeStepCostsResults(dir: string, report: StepCostsReport, markdown: string): Promise<BenchOutputPaths> {
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, 'steps.json'), markdown: join(dir, 'steps.md') };
  await writeAtomically(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(paths.markdown, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return paths;
}
