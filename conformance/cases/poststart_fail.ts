import type { Case } from '../lib/context.js';
import { failingHookCase } from '../lib/hook-cases.js';

export const cases: Case[] = [failingHookCase('poststart_fail', 'poststart')];
