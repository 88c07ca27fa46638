import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CAPS } from '../lib/config.js';
import { parseKv, type Case } from '../lib/context.js';
import { req, type Requirement } from '../lib/spec.js';

const REQS: Record<string, Requirement> = {
  shared: req('config-linux.md', 'Rootfs Mount Propagation', '`shared`: the rootfs mount belongs to a new peer group.'),
  slave: req(
    'config-linux.md',
    'Rootfs Mount Propagation',
    '`slave`: the rootfs mount receives propagation events from the host (e.g. if something is mounted on the host it will also appear in the container) but not the other way around.',
  ),
  private: req(
    'config-linux.md',
    'Rootfs Mount Propagation',
    "`private`: the rootfs mount doesn't receive mount propagation events from the host and further mounts in nested containers will be isolated from the host and from the rootfs (even if the nested container `rootfsPropagation` option is shared).",
  ),
  unbindable: req(
    'config-linux.md',
    'Rootfs Mount Propagation',
    '`unbindable`: the rootfs mount is a private mount that cannot be bind-mounted.',
  ),
};

/**
 * The container reports the optional fields of its "/" in mountinfo, whether a mount the
 * host made after create reached it, and mounts a tmpfs of its own at /mnt/back.
 */
const PROBE = [
  'echo "fields=$(awk \'$5 == "/" { for (i = 7; $i != "-"; i++) printf "%s ", $i }\' /proc/self/mountinfo)"',
  '[ -e /mnt/probe/marker ] && echo received=yes || echo received=no',
  'mount -t tmpfs back /mnt/back && echo back=mounted || echo back=failed',
  'mount --bind / /mnt/rebind 2>/dev/null && echo rebind=yes || echo rebind=no',
  'sleep 1',
].join('; ');

/** The peer group id of the topmost mount at `path` in the suite's namespace. */
function peerGroup(path: string): string | undefined {
  const line = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[4] === path)
    .pop();
  return /shared:(\d+)/.exec(line ?? '')?.[1];
}

export const cases: Case[] = Object.keys(REQS).map((mode): Case => ({
  name: `linux_rootfs_propagation/${mode}`,
  description: `rootfsPropagation ${mode} gives the rootfs mount that propagation`,
  async run(t) {
    const b = await t.bundle((c, b) => {
      for (const d of ['mnt/probe', 'mnt/back', 'mnt/rebind']) mkdirSync(join(b.rootfs, d), { recursive: true });
      b.linux.rootfsPropagation = mode;
      const caps = [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'];
      c.process!.capabilities = { bounding: caps, effective: caps, permitted: caps };
      b.shell(PROBE);
    });
    // "The host" has mount events to propagate: the bundle sits on a slave of a shared
    // peer group (as on hosts whose / is shared), and the case mounts through another
    // member of that group. A slave rootfs receives the event, a private one does not.
    const peer = join(t.dir, `${b.id}-peer`);
    mkdirSync(peer);
    await t.mount(['--bind', b.dir, b.dir], b.dir);
    await t.mount(['--make-shared', b.dir]);
    const group = peerGroup(b.dir);
    await t.mount(['--bind', b.dir, peer], peer);
    await t.mount(['--bind', b.dir, b.dir], b.dir);
    await t.mount(['--make-slave', b.dir]);
    await t.created(b);
    const probe = join(peer, 'rootfs/mnt/probe');
    await t.mount(['-t', 'tmpfs', 'probe', probe], probe);
    writeFileSync(join(probe, 'marker'), '');
    await t.started(b.id);
    await t.stopped(b.id);
    const kv = parseKv(b.stdout());
    const fields = (kv.fields ?? '').trim().split(' ');
    // The container's mount namespace is gone now; a copy of its mount made on the host
    // would still be there.
    const backOnHost = [b.dir, peer].some((d) => t.mounted(join(d, 'rootfs/mnt/back')));
    const r = REQS[mode];
    if (mode === 'shared') {
      t.ok(
        fields.some((f) => f.startsWith('shared:') && f !== `shared:${group}`),
        "the rootfs mount is in a new peer group (shared:N, not the host's)",
        r,
        { fields, hostGroup: group },
      );
    } else if (mode === 'slave') {
      t.equal(kv.received, 'yes', 'a mount the host makes after create appears in the container', r);
      t.ok(kv.back === 'mounted' && !backOnHost, 'a mount made in the container does not appear on the host', r, {
        back: kv.back,
      });
    } else if (mode === 'private') {
      t.equal(kv.received, 'no', 'a mount the host makes after create does not appear in the container', r);
      t.ok(!fields.some((f) => /^(shared|master):/.test(f)), 'the rootfs mount has no peer group and no master', r, {
        fields,
      });
    } else {
      t.ok(fields.includes('unbindable'), 'the rootfs mount is unbindable', r, { fields });
      t.equal(kv.rebind, 'no', 'the rootfs mount cannot be bind-mounted', r);
    }
    await t.deleted(b.id);
  },
}));
