import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKv, type Case, type CaseContext } from '../lib/context.js';
import { runCommand, type CommandResult } from '../lib/proc.js';
import { req } from '../lib/spec.js';

/**
 * A runtime run by an unprivileged user (runc's rootless mode, which rootless Podman
 * uses): the config `spec --rootless` writes, run as `nobody`. The spec has no rootless
 * section; what is checked is the user namespace mapping that config asks for, as seen
 * from inside, and that the container's processes are that user on the host.
 */

const uidMappings = req(
  'config-linux.md',
  'User namespace mappings',
  '`uidMappings` (array of objects, OPTIONAL) describes the user namespace uid mappings from the host to the container.',
);
const userReq = req(
  'config.md',
  'User',
  '`uid` (int, REQUIRED) specifies the user ID in the container namespace.',
);

const NOBODY = 65534;

/** `runuser -u nobody`, in `cwd`, with XDG_RUNTIME_DIR as a login session would have it. */
function asNobody(t: CaseContext, dir: string, file: string, args: string[], cwd = dir): Promise<CommandResult> {
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, XDG_RUNTIME_DIR: join(dir, 'xdg') };
  return runCommand('runuser', ['-u', 'nobody', '--', 'sh', '-c', 'cd "$0" && exec "$@"', cwd, file, ...args], {
    timeoutMs: 30_000, scratch: t.dir, env,
  });
}

function unprivilegedUserNamespaces(): boolean {
  const clone = '/proc/sys/kernel/unprivileged_userns_clone';
  if (existsSync(clone) && readFileSync(clone, 'utf8').trim() === '0') return false;
  return Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0;
}

export const cases: Case[] = [
  {
    name: 'rootless',
    description: "an unprivileged user runs the config `spec --rootless` writes: root inside is that user on the host",
    async run(t) {
      if (!t.host.namespaces.has('user') || !unprivilegedUserNamespaces()) t.skip('this kernel lets no unprivileged user make a user namespace');
      if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) t.skip('runuser (util-linux) is not installed');
      // Outside the suite's private directories, so that nobody can reach it.
      const dir = mkdtempSync('/tmp/runts-conformance-rootless-');
      try {
        chmodSync(dir, 0o755);
        chownSync(dir, NOBODY, NOBODY);
        mkdirSync(join(dir, 'xdg'), { mode: 0o700 });
        chownSync(join(dir, 'xdg'), NOBODY, NOBODY);
        const bundle = join(dir, 'bundle');
        mkdirSync(bundle);
        chownSync(bundle, NOBODY, NOBODY);
        const spec = await asNobody(t, dir, t.runtime.path, ['spec', '--rootless'], bundle);
        t.require(spec.code === 0, '`spec --rootless` writes a config as the user', uidMappings, { stderr: spec.stderr });
        const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
        const cp = await runCommand('cp', ['-a', t.suite.rootfsTemplate, join(bundle, 'rootfs')], { timeoutMs: 60_000, scratch: t.dir });
        t.require(cp.code === 0, 'the rootfs is copied', uidMappings, { stderr: cp.stderr });
        config.root = { path: 'rootfs', readonly: true };
        config.process.terminal = false;
        config.process.args = ['sh', '-c', 'echo "uid_map=$(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"; echo "id=$(id -u)"'];
        writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
        const id = t.newId();
        const root = join(dir, 'state');
        const run = await asNobody(t, dir, t.runtime.path, ['--root', root, 'run', '--bundle', bundle, id], bundle);
        try {
          t.require(run.code === 0, 'the container runs as the unprivileged user', uidMappings, { stdout: run.stdout, stderr: run.stderr });
          const kv = parseKv(run.stdout);
          t.equal(kv.uid_map, `0 ${NOBODY} 1`, "the container's root is the user that ran the runtime", uidMappings, { stdout: run.stdout });
          t.equal(kv.id, String(config.process.user?.uid ?? 0), 'the process runs as process.user.uid inside', userReq);
        } finally {
          await asNobody(t, dir, t.runtime.path, ['--root', root, 'delete', '--force', id]);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
