import t from 'tap';
import { planIdmappedMounts } from '../../src/linux/idmap.js';
import type { Spec } from '../../src/spec/types/config.js';

/** Which mounts are id-mapped and through which user namespace: plain data, no root needed. */

const MAP = [{ containerID: 0, hostID: 100000, size: 65536 }];
const OWN = [{ containerID: 0, hostID: 1234, size: 1 }];

function spec(mounts: Spec['mounts'], namespaces: { type: 'user' | 'mount'; path?: string }[] = [{ type: 'mount' }]): Spec {
  const userNew = namespaces.some((n) => n.type === 'user' && !n.path);
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    mounts,
    linux: { namespaces, ...(userNew ? { uidMappings: MAP, gidMappings: MAP } : {}) },
  };
}

t.test('only mounts with idmap, ridmap or mappings of their own', async (t) => {
  const plans = planIdmappedMounts(spec([
    { destination: '/a', type: 'bind', source: 'a', options: ['bind'] },
    { destination: '/b', type: 'bind', source: '/b', options: ['rbind', 'ridmap'], uidMappings: OWN, gidMappings: OWN },
    { destination: '/c', source: '/c', options: ['bind'], uidMappings: OWN, gidMappings: OWN },
  ]), '/bundle');
  t.same(plans, [
    { index: 1, source: '/b', recursiveTree: true, recursiveIdmap: true, users: { uidMappings: OWN, gidMappings: OWN, owner: 'mounts[1]' } },
    { index: 2, source: '/c', recursiveTree: false, recursiveIdmap: false, users: { uidMappings: OWN, gidMappings: OWN, owner: 'mounts[2]' } },
  ]);
});

t.test('without mappings of its own, the container\'s user namespace', async (t) => {
  const m = [{ destination: '/a', type: 'bind', source: 'a', options: ['bind', 'idmap'] }];
  t.same(planIdmappedMounts(spec(m, [{ type: 'user' }]), '/bundle')[0], {
    index: 0, source: '/bundle/a', recursiveTree: false, recursiveIdmap: false,
    users: { uidMappings: MAP, gidMappings: MAP, owner: 'linux' },
  }, 'the mappings of a new one');
  t.same(planIdmappedMounts(spec(m, [{ type: 'user', path: '/proc/1/ns/user' }]), '/bundle')[0].users,
    { path: '/proc/1/ns/user', configPath: 'linux.namespaces' }, 'a joined one');
});

t.test('errors', async (t) => {
  t.throws(() => planIdmappedMounts(spec([{ destination: '/a', type: 'tmpfs', source: 'tmpfs', options: ['idmap'] }], [{ type: 'user' }]), '/b'),
    { message: 'config.json: mounts[0]: an id-mapped mount must be a bind mount (options bind or rbind)' });
  t.throws(() => planIdmappedMounts(spec([{ destination: '/a', source: '/a', options: ['bind'], uidMappings: OWN }]), '/b'),
    { message: 'config.json: mounts[0]: uidMappings and gidMappings of an id-mapped mount go together' });
  t.throws(() => planIdmappedMounts(spec([{ destination: '/a', source: '/a', options: ['bind', 'ridmap'] }]), '/b'),
    { message: 'config.json: mounts[0].options: ridmap needs the mount\'s uidMappings and gidMappings, or a user namespace' });
});
