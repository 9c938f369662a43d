import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeStepCostsResults } from '../../../tools/bench/bench-output.js';
import { breakdownText, renderStepCostsMarkdown, renderStepCostsSection } from '../../../tools/bench/step-costs-report.js';
import { stepsReport } from './step-costs-fixture.js';

describe('renderStepCostsSection', () => {
  const lines = renderStepCostsSection(stepsReport(), '##');
  const text = lines.join('\n');

  it('is headed "Where the commands go (per step)" and has a table per traced mode', () => {
    expect(lines[0]).toBe('## Where the commands go (per step)');
    expect(text).toContain('### webhook mode');
    expect(text).toContain('| step | cmds / order (median) | mean | sent / order (median) | mean | Redis µs (median) | mean | commands of the median order | ran in |');
  });

  it('shows each step’s median and mean, its µs and which commands, and the whole order', () => {
    expect(text).toContain('| claim | 4 | 4.25 | 1 | 1.10 | 28 | 30.0 | hset 2 + evalsha 1 + hmget 1 | 20/20 |');
    expect(text).toContain('| park | 0 | 0.00 | 0 | 0.00 | 0 | 0.0 | none | 0/20 |');
    expect(text).toContain('| **whole order** | **136** | 140.30 | 21 | 21.50 | 940 | 1275.8 |');
    expect(text).toContain('Whole traced run: 2806 commands (140.3 per order), 430 sent, 25516 µs of Redis time.');
  });

  it('says what each step covers and how the figures are taken', () => {
    expect(text).toContain('- **claim**: what claim covers');
    expect(text).toContain('### How the figures are taken');
  });

  it('renders as a document of its own for steps.md', () => {
    const markdown = renderStepCostsMarkdown(stepsReport());
    expect(markdown.startsWith('# voodoo-fulfillment: Redis commands per step, 2026-11-27T21:00:00.000Z')).toBe(true);
    expect(markdown).toContain('\n## Where the commands go (per step)\n');
  });
});

describe('breakdownText', () => {
  it('joins commands with their calls, or says none', () => {
    expect(breakdownText([{ command: 'evalsha', calls: 1 }, { command: 'hset', calls: 2 }])).toBe('evalsha 1 + hset 2');
    expect(breakdownText([])).toBe('none');
  });
});

describe('writeStepCostsResults', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes steps.json and steps.md, leaving no temp file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'steps-out-'));
    const paths = await writeStepCostsResults(dir, stepsReport(), '# steps');
    expect(paths).toEqual({ json: join(dir, 'steps.json'), markdown: join(dir, 'steps.md') });
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(stepsReport());
    expect(readFileSync(paths.markdown, 'utf8')).toBe('# steps\n');
    expect(readdirSync(dir).sort()).toEqual(['steps.json', 'steps.md']);
  });
});
