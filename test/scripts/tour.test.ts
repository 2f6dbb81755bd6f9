import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

describe('README API tour', () => {
  it('is the code of scripts/tour.ts, which runs and trains', () => {
    const tour = readFileSync('scripts/tour.ts', 'utf8');
    const readme = readFileSync('README.md', 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    // The README shows the script's body (imports from the package name instead of ../src).
    expect(block.trim()).toBe(
      tour.replace("'../src/index.ts'", "'shiftgrad'").split('\n').slice(1).join('\n').trim(),
    );
    const out = execFileSync('npx', ['tsx', 'scripts/tour.ts'], { encoding: 'utf8' });
    const losses = [...out.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(10);
    expect(losses[9]!).toBeLessThan(losses[0]!);
    // the traced plan fuses conv → relu
    expect(out).toContain("[ 'conv2d+relu', 'reshape', 'linear', 'logSoftmax' ]");
  });
});
