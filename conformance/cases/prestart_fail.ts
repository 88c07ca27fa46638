import type { Case } from '../lib/context.js';
import { failingHookCase } from '../lib/hook-cases.js';

export const cases: Case[] = [failingHookCase('prestart_fail', 'prestart')];
