import { main } from './run-cli.js';

/** runts run from the compiled sources (tests); bin/runts runs the bundle (entry.ts). */
process.exitCode = await main(process.argv);
