import { fileURLToPath } from 'node:url';
import { codeCacheOutcomes, requireCached } from '../sys/code-cache.js';

/**
 * dist/bundle/main.cjs, what bin/runts starts: runs the small bundle of the hot commands
 * (hot.ts) when it takes the command line, the whole bundle (entry.ts) otherwise, each
 * with its code cache. scripts/bundle.ts defines their file names here.
 */
declare const RUNTS_HOT_BUNDLE: string;
declare const RUNTS_BUNDLE: string;

const load = (name: string) => requireCached(fileURLToPath(new URL(name, import.meta.url)));
const hot = load(RUNTS_HOT_BUNDLE) as typeof import('./hot.js');
if (!hot.start(codeCacheOutcomes())) (load(RUNTS_BUNDLE) as typeof import('./entry.js')).start(codeCacheOutcomes());
