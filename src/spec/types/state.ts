/* Generated from schemas/state.schema.json by `npm run gen:types`; edit the schema, not this file. */

export type Status = 'creating' | 'created' | 'running' | 'stopped';

/**
 * The state of a container, as `runts state` prints it and hooks receive it.
 */
export interface State {
  /**
   * Runtime-spec version the state complies with.
   */
  ociVersion: string;
  id: string;
  status: Status;
  /**
   * The container process, required while created or running.
   */
  pid?: number;
  /**
   * Absolute path of the bundle directory.
   */
  bundle: string;
  annotations?: Annotations;
}
/**
 * Arbitrary metadata: string keys (never empty) to string values.
 */
export interface Annotations {
  [k: string]: string | undefined;
}
