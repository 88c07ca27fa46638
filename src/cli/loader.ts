import { codeCacheOutcomes, requireBundle } from '../sys/code-cache.js';

/**
 * dist/bundle/main.cjs, what bin/runts starts: runs the small bundle of the hot commands
 * (hot.ts) when it takes the command line, the whole bundle (entry.ts) otherwise, each
 * with its code cache. scripts/bundle.ts defines their file names here.
 */
declare const RUNTS_HOT_BUNDLE: string;
declare const RUNTS_BUNDLE: string;

const hot = requireBundle(RUNTS_HOT_BUNDLE, import.meta.url) as typeof import('./hot.js');
if (!hot.start(codeCacheOutcomes())) (requireBundle(RUNTS_BUNDLE, import.meta.url) as typeof import('./entry.js')).start(codeCacheOutcomes());
