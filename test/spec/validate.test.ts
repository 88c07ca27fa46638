import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError, RuntsErrors } from '../../src/errors.js';
import {
  checkConfigSemantics,
  findUnknownProperties,
  loadBundleConfig,
  validateConfigSchema,
  validateFeatures,
  validateState,
} from '../../src/spec/validate.js';
import { pointerToPath } from '../../src/spec/messages.js';
import type { Spec } from '../../src/spec/types/config.js';
import { REPO_ROOT, makeBundle, bundleErrors } from './helpers.js';

const busyboxDir = join(REPO_ROOT, 'bundles', 'busybox');
const busybox = (): Spec => JSON.parse(readFileSync(join(busyboxDir, 'config.json'), 'utf8')) as Spec;

t.test('the busybox bundle has no problems', async (t) => {
  // its rootfs is built by a script, so the config is checked in a bundle of its own
  const dir = makeBundle(t, busybox());
  t.same(validateConfigSchema(busybox()), []);
  t.same(checkConfigSemantics(busybox(), dir), []);
  t.same(findUnknownProperties(busybox()), []);
  t.equal(loadBundleConfig(dir).ociVersion, '1.3.0');
});

t.test('every problem of a config is reported at once', async (t) => {
  const doc = busybox() as unknown as Record<string, any>;
  delete doc.ociVersion;
  doc.process.args = [];
  doc.process.cwd = 'home';
  doc.mounts[1].destination = 42;
  doc.linux.namespaces[2].type = 'pids';
  doc.linux.namespaces.push({ type: 'pid' });
  doc.process.rlimits.push({ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 });
  doc.root.path = 'missing';
  doc.windows = {};
  const bundle = makeBundle(t, doc);
  let thrown: unknown;
  try {
    loadBundleConfig(bundle);
  } catch (err) {
    thrown = err;
  }
  t.type(thrown, RuntsErrors);
  const errors = (thrown as RuntsErrors).errors;
  t.ok(
    errors.every((e) => e instanceof RuntsError && e.configPath),
    'each problem carries its config path',
  );
  t.same(
    errors.map((e) => e.message),
    [
      'config.json: ociVersion: missing (required)',
      'config.json: mounts[1].destination: expected a string, got number',
      'config.json: linux.namespaces[2].type: "pids" is not a namespace type; expected one of pid, network, mount, ipc, uts, user, cgroup, time',
      `config.json: root.path: "missing" (${bundle}/missing) does not exist`,
      'config.json: windows: a Windows section cannot be honoured by a linux runtime',
      'config.json: linux.namespaces[6].type: duplicate namespace type "pid" (also linux.namespaces[0])',
      'config.json: process.args: must not be empty',
      'config.json: process.cwd: "home" must be an absolute path',
      'config.json: process.rlimits[1].type: duplicate RLIMIT_NOFILE (also process.rlimits[0])',
    ],
  );
});

t.test('a value the schema rejects gets no second, semantic complaint', async (t) => {
  const doc = busybox() as unknown as Record<string, any>;
  doc.ociVersion = 'one';
  doc.process.cwd = 7;
  t.same(bundleErrors(makeBundle(t, doc)), [
    'config.json: ociVersion: "one" is not a SemVer version such as 1.3.0',
    'config.json: process.cwd: expected a string, got number',
  ]);
});

t.test('documents that are not a config object', async (t) => {
  t.same(bundleErrors(makeBundle(t, '[]')), ['config.json: expected an object, got array']);
  t.same(bundleErrors(makeBundle(t, '{\n  "ociVersion": "1.3.0",\n}\n')), [
    'config.json: not valid JSON at line 3, column 1: expected double-quoted property name',
  ]);
  t.throws(() => loadBundleConfig(join(REPO_ROOT, 'no-such-bundle')), /cannot read .*config\.json: ENOENT/);
});

t.test('unknown properties are found, though the spec has runtimes ignore them', async (t) => {
  const doc = busybox() as unknown as Record<string, any>;
  doc.linux.namespace = [];
  doc.process.user.name = 'root';
  doc.annotations = { 'com.example.anything': 'is fine' };
  t.same(validateConfigSchema(doc), [], 'the schema accepts them');
  t.same(findUnknownProperties(doc), [
    { path: 'process.user.name', message: 'not defined by the runtime-spec, ignored' },
    { path: 'linux.namespace', message: 'not defined by the runtime-spec, ignored' },
  ]);
});

t.test('state documents', async (t) => {
  const good = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/b' };
  t.same(validateState(good), []);
  t.same(
    validateState({ ...good, status: 'stopped', pid: undefined, extra: true }),
    [],
    'extra properties are allowed',
  );
  t.same(validateState({ ...good, pid: undefined }), [
    { path: 'pid', message: 'missing (required while status is created or running)' },
  ]);
  t.same(validateState({ ...good, status: 'paused' }), [
    {
      path: 'status',
      message: '"paused" is not a container status; expected one of creating, created, running, stopped',
    },
  ]);
  t.same(validateState({ id: 5 }), [
    { path: 'ociVersion', message: 'missing (required)' },
    { path: 'status', message: 'missing (required)' },
    { path: 'bundle', message: 'missing (required)' },
    { path: 'id', message: 'expected a string, got number' },
  ]);
});

t.test('features documents', async (t) => {
  const good = { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', linux: { seccomp: null, cgroup: { v2: true } } };
  t.same(validateFeatures(good), []);
  t.same(validateFeatures({ ...good, linux: { cgroups: {} } }), [
    { path: 'linux.cgroups', message: 'unknown property (none other is allowed here)' },
  ]);
  t.same(validateFeatures({ ociVersionMin: '1.0', ociVersionMax: '1.3.0', hooks: 'all' }), [
    { path: 'ociVersionMin', message: '"1.0" is not a SemVer version such as 1.3.0' },
    { path: 'hooks', message: 'expected an array or null, got string' },
  ]);
});

t.test('JSON pointers become the paths people write', async (t) => {
  t.equal(pointerToPath(''), '');
  t.equal(pointerToPath('/linux/namespaces/2/type'), 'linux.namespaces[2].type');
  t.equal(pointerToPath('/linux/sysctl/net.ipv4.ip_forward'), 'linux.sysctl["net.ipv4.ip_forward"]');
  t.equal(pointerToPath('/annotations/a~1b~0c'), 'annotations["a/b~c"]');
});
