/**
 * A requirement of the OCI runtime-spec (v1.3.0): the document, its section heading and
 * the sentence quoted word for word, so a reader can find it and judge the check. The
 * security cases check properties the spec does not state; where no sentence of the spec
 * fits, they cite this repository's docs/security.md instead, the cases of runc's own
 * flags runc's --help, and the checkpoint case runc's manual page of the command: `source`
 * says which, when it is not the runtime-spec.
 */
export interface Requirement {
  doc: string;
  section: string;
  text: string;
  source?: string;
}

export function req(doc: string, section: string, text: string): Requirement {
  return { doc, section, text };
}

/** A rule of this repository's docs/security.md, quoted word for word: not the runtime-spec. */
export function securityReq(section: string, text: string): Requirement {
  return { doc: 'docs/security.md', section, text, source: "runts' docs/security.md, not the runtime-spec" };
}

/**
 * What runc 1.1.5 says a flag of its command line does (`runc <command> --help`, its
 * OPTIONS), quoted word for word: the flags engines send that the runtime-spec leaves out.
 */
export function runcReq(command: string, text: string): Requirement {
  return { doc: `runc ${command} --help`, section: 'OPTIONS', text, source: "runc 1.1.5's --help, not the runtime-spec" };
}

/**
 * A sentence of runc's manual page `page` (runc-checkpoint.8.md…), for a command runc's
 * command line has and the spec does not: not the runtime-spec.
 */
export function runcManReq(page: string, section: string, text: string): Requirement {
  return { doc: `runc's man/${page}`, section, text, source: `runc's man/${page}, not the runtime-spec` };
}

export function cite(r: Requirement): string {
  return r.source ? `${r.doc} "${r.section}", not the runtime-spec` : `${r.doc} "${r.section}"`;
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
