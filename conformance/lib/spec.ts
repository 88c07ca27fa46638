/**
 * A requirement of the OCI runtime-spec (v1.3.0): the document, its section heading and
 * the sentence quoted word for word, so a reader can find it and judge the check.
 */
export interface Requirement {
  doc: string;
  section: string;
  text: string;
}

export function req(doc: string, section: string, text: string): Requirement {
  return { doc, section, text };
}

export function cite(r: Requirement): string {
  return `${r.doc} "${r.section}"`;
}

/** Requirements that many cases lean on when they set a container up. */
export const common = {
  create: req('runtime.md', 'Create', 'This operation MUST create a new container.'),
  createApplies: req(
    'runtime.md',
    'Create',
    'All of the properties configured in `config.json` except for `process` MUST be applied.',
  ),
  start: req('runtime.md', 'Start', 'This operation MUST run the user-specified program as specified by `process`.'),
  kill: req('runtime.md', 'Kill', 'This operation MUST send the specified signal to the container process.'),
  deleteStopped: req(
    'runtime.md',
    'Delete',
    'Deleting a container MUST delete the resources that were created during the `create` step.',
  ),
  queryState: req(
    'runtime.md',
    'Query State',
    'This operation MUST return the state of a container as specified in the State section.',
  ),
  validValues: req(
    'config.md',
    'Valid values',
    'Runtimes MUST generate an error when invalid or unsupported values are encountered.',
  ),
};
