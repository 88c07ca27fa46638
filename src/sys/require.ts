/**
 * require() for the module at `from` (a file URL or path). Loading node:module for
 * createRequire costs every start ~2.5 ms, so the bundle (CommonJS, every file of it in one
 * directory) uses its own require; the unbundled modules (tests) make one.
 */
export function requireFrom(from: string | URL): NodeJS.Require {
  if (typeof require === 'function') return require;
  return process.getBuiltinModule('node:module').createRequire(from);
}
