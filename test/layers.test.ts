import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { REPO_ROOT } from './helpers/containers.js';

/**
 * The layers of src/, top to bottom (docs/design.md). A module may import from its own
 * layer or any layer below it, never from one above; and no chain of imports, type-only
 * ones included, may lead back to where it started.
 */
const LAYERS: string[][] = [
  ['cli/'],
  ['container/', 'features.ts'],
  ['setup/'],
  ['linux/'],
  ['spec/'],
  ['program/'],
  ['sys/'],
  ['errors.ts', 'log.ts', 'version.ts'],
];

const SRC = join(REPO_ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [relative(SRC, p)] : [];
  });
}

function layerOf(file: string): number {
  const i = LAYERS.findIndex((names) => names.some((n) => (n.endsWith('/') ? file.startsWith(n) : file === n)));
  return i;
}

/** Every module a file imports from src/: static, type-only, re-exported and dynamic. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm)) {
    found.push(relative(SRC, resolve(dirname(join(SRC, file)), m[2])).replace(/\.js$/, '.ts'));
  }
  return found;
}

const files = sources(SRC).sort();
const graph = new Map(files.map((f) => [f, importsOf(f)]));

t.test('every module of src/ belongs to a layer', async (t) => {
  t.same(files.filter((f) => layerOf(f) < 0), []);
});

t.test('no import points to a higher layer', async (t) => {
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (!graph.has(to)) upward.push(`${from} imports ${to}, which does not exist`);
      else if (layerOf(to) < layerOf(from)) upward.push(`${from} imports ${to}`);
    }
  }
  t.same(upward, []);
});

t.test('no import cycle', async (t) => {
  // Tarjan's strongly connected components: a component of more than one module, or a
  // module importing itself, is a cycle.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) cycles.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  t.same(cycles, []);
});

t.test('the check sees imports', async (t) => {
  // guards the pattern itself: a parser that found nothing would pass every test above
  t.ok(graph.get('cli/invoke.ts')!.includes('cli/options.ts'));
  t.ok(graph.get('cli/commands.ts')!.includes('cli/create.ts'), 'a dynamic import');
  t.ok(graph.get('setup/build.ts')!.includes('program/emit.ts'), 'a multi-line import');
});

t.test('koffi is loaded through src/sys/koffi.ts alone', async (t) => {
  // koffi's own entry probes for its native module on every start (src/sys/koffi.ts says
  // what that costs); a module importing the package directly brings that back
  const direct = files.filter((f) => f !== 'sys/koffi.ts' && /^\s*import\s+(?!type\b)[^;]*from\s*['"]koffi['"]/m.test(readFileSync(join(SRC, f), 'utf8')));
  t.same(direct, []);
});
