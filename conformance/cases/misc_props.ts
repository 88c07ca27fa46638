import { failure, type Case, type CaseContext, type Bundle } from '../lib/context.js';
import type { Config } from '../lib/config.js';
import { common, req, type Requirement } from '../lib/spec.js';

const unknownAnnotation = req(
  'config.md',
  'Annotations',
  'Runtimes MUST handle unknown annotation keys like any other unknown property.',
);
const unknownProperty = req(
  'config.md',
  'Extensibility',
  'That includes not generating errors if they encounter an unknown property.',
);
const semver = req(
  'config.md',
  'Specification version',
  '`ociVersion` (string, REQUIRED) MUST be in SemVer v2.0.0 format and specifies the version of the Open Container Initiative Runtime Specification with which the bundle complies.',
);
const cwdAbsolute = req('config.md', 'Process', 'This value MUST be an absolute path.');
const rootExists = req('config.md', 'Root', 'A directory MUST exist at the path declared by the field.');

/** The bundle must go through create, start and delete as if the extra were not there. */
async function accepted(
  t: CaseContext,
  what: string,
  r: Requirement,
  edit: (c: Config, b: Bundle) => void,
): Promise<void> {
  const b = await t.bundle((c, b) => {
    b.shell('echo ran');
    edit(c, b);
  });
  const created = await t.create(b);
  t.ok(created.ok, `create succeeds with ${what}`, r, failure(created));
  if (!created.ok) return;
  await t.started(b.id);
  await t.stopped(b.id);
  t.equal(b.stdout(), 'ran\n', `the container runs its program with ${what}`, r);
  await t.deleted(b.id);
}

/** The bundle is invalid: create (or, at the latest, start) must fail and the program never run. */
async function refused(
  t: CaseContext,
  what: string,
  r: Requirement,
  edit: (c: Config, b: Bundle) => void,
): Promise<void> {
  const b = await t.bundle((c, b) => {
    b.shell('echo ran');
    edit(c, b);
  });
  const created = await t.create(b);
  const started = created.ok ? await t.start(b.id) : undefined;
  t.ok(
    !created.ok || started?.ok === false,
    `the runtime refuses ${what}`,
    r,
    started ? failure(started) : failure(created),
  );
  t.equal(b.stdout(), '', `the program does not run with ${what}`, common.validValues);
}

export const cases: Case[] = [
  {
    name: 'misc_props',
    description: 'unknown properties and annotation keys are ignored; invalid values are refused',
    async run(t) {
      await accepted(t, 'an unknown annotation key', unknownAnnotation, (c) => {
        c.annotations = { 'org.opencontainers.conformance.unknown': 'value', 'com.example.unknown': '' };
      });
      await accepted(t, 'unknown properties at the top level and in process and linux', unknownProperty, (c) => {
        c.conformanceUnknown = { nested: [1, 2, 3] };
        Object.assign(c.process!, { conformanceUnknown: 'x' });
        Object.assign(c.linux!, { conformanceUnknown: true });
      });
      await refused(t, 'an ociVersion that is not SemVer ("invalid")', semver, (c) => {
        c.ociVersion = 'invalid';
      });
      await refused(t, 'a relative process.cwd', cwdAbsolute, (c) => {
        c.process!.cwd = 'relative/dir';
      });
      await refused(t, 'a root.path where no directory exists', rootExists, (c) => {
        c.root.path = 'no-such-rootfs';
      });
    },
  },
];
