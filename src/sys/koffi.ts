import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type koffiModule from 'koffi';
import { requireFrom } from './require.js';

export type Koffi = typeof koffiModule;

/**
 * Where `npm run build` found koffi's native module and koffi's manifest, relative to the
 * bundle (scripts/bundle.ts defines it; the unbundled sources have none).
 */
declare const RUNTS_KOFFI: { native: string; manifest: string } | undefined;

let cached: Koffi | undefined;

/**
 * koffi. Its package's entry finds the native module by probing the platform, the C
 * library and several directories, some 5-10 ms of every start; the bundle goes straight
 * to the file the build saw koffi load, as long as that file is the version of the koffi
 * package installed beside it. Anything else is left to koffi's own loader.
 */
export function koffi(): Koffi {
  if (cached) return cached;
  if (typeof RUNTS_KOFFI !== 'undefined') {
    try {
      const here = dirname(fileURLToPath(import.meta.url));
      // process.dlopen as require() would, without its path resolution (~1 ms)
      const loaded = { exports: {} as Koffi & { version: string } };
      process.dlopen(loaded, join(here, RUNTS_KOFFI.native));
      const native = loaded.exports;
      const manifest = JSON.parse(readFileSync(join(here, RUNTS_KOFFI.manifest), 'utf8')) as { version: string };
      if (native.version === manifest.version) return (cached = native);
    } catch {
      // moved, rebuilt or another platform's: koffi's loader decides
    }
  }
  return (cached = requireFrom(import.meta.url)('koffi') as Koffi);
}
