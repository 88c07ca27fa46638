import { writeSync } from 'node:fs';
import type { Assertion } from './context.js';
import { cite } from './spec.js';

/**
 * TAP 14 output: one test point per case, its assertions as an indented subtest, and
 * the failing ones with a YAML block quoting the requirement and what was found.
 */
export class Tap {
  private n = 0;

  constructor(private readonly verbose: boolean) {}

  line(text: string): void {
    writeSync(1, `${text}\n`);
  }

  comment(text: string): void {
    for (const l of text.split('\n')) this.line(`# ${l}`.trimEnd());
  }

  header(): void {
    this.line('TAP version 14');
  }

  /** Prints one case: its assertions, then its own test point. */
  point(
    name: string,
    status: 'pass' | 'fail' | 'skip',
    assertions: Assertion[],
    notes: string[],
    directive: string | undefined,
    seconds: number,
  ): void {
    this.n++;
    if (status !== 'skip' && assertions.length > 0) {
      this.line(`# Subtest: ${name}`);
      assertions.forEach((a, i) => {
        this.line(`    ${a.ok ? 'ok' : 'not ok'} ${i + 1} - ${escape(a.name)} [${cite(a.req)}]`);
        if (!a.ok || this.verbose) {
          const source = a.req.source ? { source: a.req.source } : {};
          yaml('      ', { requirement: a.req.text, ...source, ...a.diag }, (l) => this.line(l));
        }
      });
      this.line(`    1..${assertions.length}`);
    }
    const mark = status === 'fail' ? 'not ok' : 'ok';
    this.line(`${mark} ${this.n} - ${escape(name)}${directive ? ` # ${directive}` : ''}`);
    const fields: Record<string, unknown> = { seconds: Number(seconds.toFixed(2)) };
    if (notes.length > 0) fields.notes = notes;
    if (status !== 'skip') yaml('  ', fields, (l) => this.line(l));
  }

  plan(): void {
    this.line(`1..${this.n}`);
  }
}

/** TAP descriptions must not hold "#" (a directive) or newlines. */
function escape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/#/g, '\\#').replace(/\n/g, ' ');
}

/** JSON is YAML, so each value is written as JSON on its key's line. */
function yaml(indent: string, fields: Record<string, unknown>, out: (l: string) => void): void {
  out(`${indent}---`);
  for (const [k, v] of Object.entries(fields)) out(`${indent}${k}: ${JSON.stringify(v)}`);
  out(`${indent}...`);
}
