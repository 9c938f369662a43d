import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * End-to-end tests spawn `node dist/cli.js worker|webhook` as real processes, so dist/ must match
 * the source under test: build it once per run, from an empty dist/ (as `npm run build` does), so no
 * output of a moved or deleted source file lingers (the packed-package test would see it).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  rmSync(fileURLToPath(new URL('../../dist', import.meta.url)), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
