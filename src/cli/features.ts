import { featuresDocument } from '../features.js';
import { writeStdout } from '../log.js';

/** `runts features`: the features document, indented by four spaces like runc's. */
export async function run(): Promise<number> {
  writeStdout(JSON.stringify(featuresDocument(), null, 4) + '\n');
  return 0;
}
