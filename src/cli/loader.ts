import { fileURLToPath } from 'node:url';
import { codeCacheOutcomes, requireCached } from '../sys/code-cache.js';

/**
 * dist/bundle/main.cjs, what bin/runts starts: runs the bundle (entry.ts), whose file name
 * scripts/bundle.ts defines here, with its code cache.
 */
declare const RUNTS_BUNDLE: string;

const entry = requireCached(fileURLToPath(new URL(RUNTS_BUNDLE, import.meta.url))) as typeof import('./entry.js');
entry.start(codeCacheOutcomes());
