import { RuntsError } from '../errors.js';

const VALID = /^[A-Za-z0-9_+.-]+$/;

/** Checks a container id before it is used as a path: no separators, no "." or "..". */
export function checkId(id: string): string {
  if (!id) throw new RuntsError('container id cannot be empty');
  if (!VALID.test(id) || id === '.' || id === '..') {
    throw new RuntsError(`invalid container id format: ${id}`);
  }
  if (id.length > 1024) throw new RuntsError('invalid container id: longer than 1024 characters');
  return id;
}
