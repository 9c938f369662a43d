import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/**
 * Fails a test that leaves a socket, server or child process open: after each test (and each file)
 * the counts of those handles must come back to what they were before it. Closing is often
 * asynchronous, so the check waits briefly before it fails.
 */
const WATCHED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'PipeWrap', 'ProcessWrap']);

function snapshot(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) {
    if (WATCHED.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function excess(before: Map<string, number>): string[] {
  const now = snapshot();
  const out: string[] = [];
  for (const [name, count] of now) {
    const was = before.get(name) ?? 0;
    if (count > was) out.push(`${count - was} × ${name}`);
  }
  return out;
}

async function expectNoLeak(before: Map<string, number>, where: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  let left = excess(before);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = excess(before);
  }
  if (left.length > 0) {
    throw new Error(`${where} left open: ${left.join(', ')} (close every worker, queue, connection, server and process it starts)`);
  }
}

let fileBaseline = new Map<string, number>();
let testBaseline = new Map<string, number>();

beforeAll(() => {
  fileBaseline = snapshot();
});
beforeEach(() => {
  testBaseline = snapshot();
});
afterEach(async (ctx) => {
  await expectNoLeak(testBaseline, `test "${ctx.task.name}"`);
});
afterAll(async () => {
  await expectNoLeak(fileBaseline, 'test file');
});
