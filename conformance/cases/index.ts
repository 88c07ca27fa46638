import type { Case } from '../lib/context.js';
import { cases as config_updates_without_affect } from './config_updates_without_affect.js';
import { cases as create } from './create.js';
import { cases as delete_ } from './delete.js';
import { cases as delete_only_create_resources } from './delete_only_create_resources.js';
import { cases as delete_resources } from './delete_resources.js';
import { cases as hooks } from './hooks.js';
import { cases as hooks_stdin } from './hooks_stdin.js';
import { cases as kill } from './kill.js';
import { cases as kill_no_effect } from './kill_no_effect.js';
import { cases as killsig } from './killsig.js';
import { cases as pidfile } from './pidfile.js';
import { cases as poststart } from './poststart.js';
import { cases as poststart_fail } from './poststart_fail.js';
import { cases as poststop } from './poststop.js';
import { cases as poststop_fail } from './poststop_fail.js';
import { cases as prestart } from './prestart.js';
import { cases as prestart_fail } from './prestart_fail.js';
import { cases as start } from './start.js';
import { cases as state } from './state.js';

/** Every case, in the order they run: lifecycle first, then hooks, process, linux. */
export const allCases: Case[] = [
  ...create,
  ...start,
  ...state,
  ...kill,
  ...kill_no_effect,
  ...killsig,
  ...delete_,
  ...delete_resources,
  ...delete_only_create_resources,
  ...config_updates_without_affect,
  ...pidfile,
  ...prestart,
  ...prestart_fail,
  ...poststart,
  ...poststart_fail,
  ...poststop,
  ...poststop_fail,
  ...hooks,
  ...hooks_stdin,
];
