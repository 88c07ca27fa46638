/** The runtime's own version, the runtime-spec version it implements, and its defaults. */
export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.3.0';
export const DEFAULT_ROOT = '/run/runts';
