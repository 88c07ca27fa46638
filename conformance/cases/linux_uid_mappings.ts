import { chmodSync, chownSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { parseKv, type Case, type CaseContext } from '../lib/context.js';
import { req } from '../lib/spec.js';

const uidMappings = req(
  'config-linux.md',
  'User namespace mappings',
  '`uidMappings` (array of objects, OPTIONAL) describes the user namespace uid mappings from the host to the container.',
);
const gidMappings = req(
  'config-linux.md',
  'User namespace mappings',
  '`gidMappings` (array of objects, OPTIONAL) describes the user namespace gid mappings from the host to the container.',
);
const noChown = req(
  'config-linux.md',
  'User namespace mappings',
  'The runtime SHOULD NOT modify the ownership of referenced filesystems to realize the mapping.',
);

const HOST_ID = 100000;
const SIZE = 65536;

export const cases: Case[] = [
  {
    name: 'linux_uid_mappings',
    description: 'a user namespace gets the configured uid and gid mappings; root inside is the mapped host id',
    async run(t) {
      if (!t.host.namespaces.has('user')) return t.skip('this kernel has no user namespaces');
      const nullBefore = statSync('/dev/null');
      try {
        await mapped(t, nullBefore);
      } finally {
        // Some runtimes chown the host's /dev/null when they bind it into a user namespace;
        // the host must not be left that way.
        const now = statSync('/dev/null');
        if (now.uid !== nullBefore.uid || now.gid !== nullBefore.gid || now.mode !== nullBefore.mode) {
          chownSync('/dev/null', nullBefore.uid, nullBefore.gid);
          chmodSync('/dev/null', nullBefore.mode & 0o7777);
        }
      }
    },
  },
];

async function mapped(t: CaseContext, nullBefore: Stats): Promise<void> {
  const b = await t.bundle((c, b) => {
    b.linux.namespaces = [...(b.linux.namespaces ?? []), { type: 'user' }];
    b.linux.uidMappings = [{ containerID: 0, hostID: HOST_ID, size: SIZE }];
    b.linux.gidMappings = [{ containerID: 0, hostID: HOST_ID, size: SIZE }];
    b.shell(
      [
        'echo "uid_map=$(cat /proc/self/uid_map | tr -s " " | sed "s/^ //")"',
        'echo "gid_map=$(cat /proc/self/gid_map | tr -s " " | sed "s/^ //")"',
        'echo "id=$(id -u):$(id -g)"',
        'echo ready; exec sleep 60',
      ].join('; '),
    );
  });
  const pid = await t.created(b);
  await t.started(b.id);
  t.require(await t.printed(b, 'ready'), 'the container process runs its program', uidMappings, { stdout: b.stdout() });
  const kv = parseKv(b.stdout());
  t.equal(kv.uid_map, `0 ${HOST_ID} ${SIZE}`, "the container's uid_map is uidMappings", uidMappings);
  t.equal(kv.gid_map, `0 ${HOST_ID} ${SIZE}`, "the container's gid_map is gidMappings", gidMappings);
  t.equal(kv.id, '0:0', 'the process is uid 0 and gid 0 in the container', uidMappings);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  t.equal(
    /^Uid:\s+(\d+)/m.exec(status)?.[1],
    String(HOST_ID),
    `seen from the host, the process is uid ${HOST_ID}`,
    uidMappings,
  );
  t.equal(
    /^Gid:\s+(\d+)/m.exec(status)?.[1],
    String(HOST_ID),
    `seen from the host, the process is gid ${HOST_ID}`,
    gidMappings,
  );
  await t.kill(b.id, 'KILL');
  await t.stopped(b.id);
  await t.deleted(b.id);
  const busybox = statSync(join(b.rootfs, 'bin/busybox'));
  t.equal([busybox.uid, busybox.gid], [0, 0], 'the rootfs keeps its owner', noChown);
  const nullAfter = statSync('/dev/null');
  t.equal(
    [nullAfter.uid, nullAfter.gid, nullAfter.mode],
    [nullBefore.uid, nullBefore.gid, nullBefore.mode],
    "the host's /dev/null keeps its owner and mode",
    noChown,
  );
}
