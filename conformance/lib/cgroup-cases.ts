import { cgroupDir, cgroupPath, readCgroupFile, v2Name } from './cgroups.js';
import type { Config } from './config.js';
import { parseKv, type Bundle, type Case, type CaseContext } from './context.js';
import type { HostFacts } from './host.js';
import { req, type Requirement } from './spec.js';

const absolute = req(
  'config-linux.md',
  'Cgroups Path',
  'In the case of an absolute path (starting with `/`), the runtime MUST take the path to be relative to the cgroups mount point.',
);
const relative = req(
  'config-linux.md',
  'Cgroups Path',
  'In the case of a relative path (not starting with `/`), the runtime MAY interpret the path relative to a runtime-determined location in the cgroups hierarchy.',
);
const consistent = req(
  'config-linux.md',
  'Cgroups Path',
  'If the value is specified, the runtime MUST consistently attach to the same place in the cgroups hierarchy given the same value of `cgroupsPath`.',
);

/** One cgroup file the container's cgroup must hold, and the value it must have. */
export interface FileCheck {
  controller: string;
  file: string;
  /** The exact content, or a test of it. */
  want: string | ((content: string) => boolean);
  what: string;
  req: Requirement;
}

/** What a cgroup area sets and checks; everything may depend on the host. */
export interface CgroupArea {
  /** The runtime-tools area, e.g. "memory" for linux_cgroups_memory. */
  area: string;
  /** A second case of the same area, named linux_cgroups_<area>/<variant>. */
  variant?: string;
  /** Controllers the area needs; without them the case is skipped. */
  controllers: string[];
  /** A reason to skip beyond a missing controller, if any. */
  skip?(host: HostFacts): string | undefined;
  resources(host: HostFacts): Record<string, unknown>;
  files(host: HostFacts): FileCheck[];
  edit?(c: Config, b: Bundle): void;
  /** A script the container runs after start, printing key=value lines for `inside`. */
  script?: string;
  inside?(t: CaseContext, kv: Record<string, string>): void;
}

/** Where a container with each kind of cgroupsPath is expected to be. */
function pathOk(kind: 'absolute' | 'relative', path: string | undefined, cgroupsPath: string): boolean {
  if (path === undefined) return false;
  return kind === 'absolute' ? path === cgroupsPath : path === `/${cgroupsPath}` || path.endsWith(`/${cgroupsPath}`);
}

function missingReason(host: HostFacts, missing: string[]): string {
  const inV2Only = missing.filter((c) => host.hierarchies.some((h) => h.version === 2 && h.controllers.includes(c)));
  if (host.cgroupLayout === 'v1' && inV2Only.length === missing.length) {
    return `${missing.join(', ')}: only in the cgroup2 mount of this hybrid host, not a cgroup v1 controller the runtimes use`;
  }
  return `${missing.join(', ')}: no such cgroup controller is mounted on this host (cgroup ${host.cgroupLayout})`;
}

async function runArea(t: CaseContext, a: CgroupArea, kind: 'absolute' | 'relative'): Promise<void> {
  const missing = a.controllers.filter((c) => !t.host.controllers.has(t.host.cgroupLayout === 'v2' ? v2Name(c) : c));
  if (missing.length > 0) return t.skip(missingReason(t.host, missing));
  const reason = a.skip?.(t.host);
  if (reason) return t.skip(reason);

  const b = await t.bundle((c, b) => {
    const rel = `${t.suite.cgroupParent}/${b.id}`;
    b.linux.cgroupsPath = kind === 'absolute' ? `/${rel}` : rel;
    b.linux.resources = a.resources(t.host);
    b.shell(a.script ? `${a.script}; echo done; exec sleep 60` : 'exec sleep 60');
    a.edit?.(c, b);
  });
  const cgroupsPath = b.linux.cgroupsPath ?? '';
  const pid = await t.created(b);
  const placed = cgroupPath(t.host, pid, a.controllers[0]);
  for (const controller of a.controllers) {
    const path = cgroupPath(t.host, pid, controller);
    t.ok(
      pathOk(kind, path, cgroupsPath),
      `the container is in the ${controller} cgroup ${kind === 'absolute' ? cgroupsPath : `…/${cgroupsPath}`}`,
      kind === 'absolute' ? absolute : relative,
      { path },
    );
  }
  for (const f of a.files(t.host)) {
    const dir = cgroupDir(t.host, pid, f.controller);
    const content = dir ? readCgroupFile(dir, f.file) : undefined;
    const ok = content !== undefined && (typeof f.want === 'string' ? content === f.want : f.want(content));
    t.ok(ok, f.what, f.req, {
      file: dir ? `${dir}/${f.file}` : f.file,
      content,
      ...(typeof f.want === 'string' ? { expected: f.want } : {}),
    });
  }
  if (a.inside) {
    await t.started(b.id);
    t.require(await t.printed(b, 'done'), "the container's script ran", a.files(t.host)[0]?.req ?? relative, {
      stdout: b.stdout(),
      stderr: b.stderr(),
    });
    a.inside(t, parseKv(b.stdout()));
  }
  await t.kill(b.id, 'KILL');
  await t.stopped(b.id);
  await t.deleted(b.id);

  if (kind === 'relative') {
    // The same relative path, given again, must lead to the same cgroup.
    const again = await t.bundle((c, b2) => {
      b2.linux.cgroupsPath = cgroupsPath;
      b2.shell('exec sleep 60');
    });
    const pid2 = await t.created(again);
    t.equal(
      cgroupPath(t.host, pid2, a.controllers[0]),
      placed,
      'a second container with the same cgroupsPath is in the same cgroup',
      consistent,
    );
    await t.kill(again.id, 'KILL');
    await t.stopped(again.id);
    await t.deleted(again.id);
  }
}

export function cgroupCases(a: CgroupArea): Case[] {
  const suffix = a.variant ? `/${a.variant}` : '';
  return [
    {
      name: `linux_cgroups_${a.area}${suffix}`,
      description: `${a.area} limits are applied in the cgroup an absolute cgroupsPath names`,
      run: (t) => runArea(t, a, 'absolute'),
    },
    {
      name: `linux_cgroups_relative_${a.area}${suffix}`,
      description: `${a.area} limits are applied in the cgroup a relative cgroupsPath names`,
      run: (t) => runArea(t, a, 'relative'),
    },
  ];
}
