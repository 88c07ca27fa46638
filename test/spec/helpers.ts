import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuntsErrors } from '../../src/errors.js';
import { loadBundleConfig } from '../../src/spec/validate.js';

/** The repository root: this file runs as dist/test/spec/helpers.js. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The published runtime-spec, beside the repository (CI puts it there too). */
export const UPSTREAM_TESTS = join(REPO_ROOT, '..', 'shared', 'runtime-spec', 'schema', 'test');

interface Teardown {
  teardown(fn: () => void): void;
}

/** A bundle directory with an empty rootfs/ and this config.json, removed after the test. */
export function makeBundle(t: Teardown, config: unknown | string): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-spec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'rootfs'));
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return dir;
}

/** The lines loadBundleConfig reports for a bundle, [] when it accepts it. */
export function bundleErrors(dir: string): string[] {
  try {
    loadBundleConfig(dir);
    return [];
  } catch (err) {
    if (err instanceof RuntsErrors) return err.errors.map((e) => e.message);
    throw err;
  }
}
