import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Case } from '../lib/context.js';
import { runCommand, sleep } from '../lib/proc.js';
import { security } from '../lib/security.js';
import { req } from '../lib/spec.js';

const masked = req(
  'config-linux.md',
  'Masked Paths',
  '`maskedPaths` (array of strings, OPTIONAL) will mask over the provided paths inside the container so that they cannot be read.',
);

const LEAK = 'LEAKED-BY-THE-RACER';

/** Flips <dir>/null between the null device and a symlink to <dir>/leak, as fast as it can. */
const RACER = `
const fs = require('fs'), d = process.argv[1];
for (;;) {
  fs.linkSync(d + '/.device', d + '/.a'); fs.renameSync(d + '/.a', d + '/null');
  fs.linkSync(d + '/.link', d + '/.b'); fs.renameSync(d + '/.b', d + '/null');
}`;

export const cases: Case[] = [
  {
    name: 'security_masked_paths',
    description:
      'CVE-2025-31133: with /dev bound from a directory whose null a racer flips to a symlink, masks never show its file',
    timeoutMs: 120_000,
    async run(t) {
      // A /dev that another party changes while the runtime works: a bind of a host
      // directory, as a volume a second container shares.
      const dev = join(t.dir, 'dev');
      mkdirSync(dev);
      const mknod = await runCommand('mknod', [join(dev, '.device'), 'c', '1', '3'], { timeoutMs: 5000, scratch: t.dir });
      if (!mknod.ok) throw new Error(`mknod: ${mknod.stderr.trim()}`);
      chmodSync(join(dev, '.device'), 0o666);
      writeFileSync(join(dev, 'leak'), `${LEAK}\n`);
      symlinkSync('leak', join(dev, '.link'));
      t.helper(process.execPath, ['-e', RACER, dev]);
      while (!existsSync(join(dev, 'null'))) await sleep(10);

      // The decoy: a bind mount that resolves the path when it mounts is won by the racer.
      const target = join(t.dir, 'target');
      writeFileSync(target, '');
      const script = [
        'i=0',
        'while [ $i -lt 1000 ]; do i=$((i + 1))',
        '  if mount --bind "$0/null" "$1" 2>/dev/null; then c=$(cat "$1" 2>/dev/null); umount "$1"',
        `    case $c in *${LEAK}*) echo "leaked at try $i"; exit 0;; esac`,
        '  fi',
        'done',
        'echo "not leaked in $i tries"; exit 1',
      ].join('\n');
      const naive = await runCommand('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, dev, target], {
        timeoutMs: 30_000,
        scratch: t.dir,
      });
      t.require(naive.ok, "decoy: a plain mount --bind of the racing null mounts the racer's file", security.maskRace, {
        output: naive.stdout.trim(),
      });

      const b = await t.bundle((c, b) => {
        writeFileSync(join(b.rootfs, 'secret'), 'SECRET\n');
        c.mounts = (c.mounts ?? []).filter((m) => !m.destination.startsWith('/dev'));
        c.mounts.push({ destination: '/dev', type: 'bind', source: dev, options: ['rbind', 'rw'] });
        b.linux.maskedPaths = [...(b.linux.maskedPaths ?? []), '/secret'];
      });
      // masked: reads empty; unreadable: the read fails (also "cannot be read").
      const counts = { masked: 0, unreadable: 0, failed: 0, leaked: 0, unmasked: 0 };
      const errors = new Set<string>();
      const rounds = t.suite.raceRounds;
      for (let i = 0; i < rounds; i++) {
        const id = t.newId();
        const pidFile = join(t.dir, `${id}.pid`);
        const created = await t.create(b, { id, pidFile });
        if (!created.ok) {
          counts.failed++;
          errors.add(created.stderr.trim().split('\n').pop() ?? '');
          continue;
        }
        try {
          // Read through the created init's root: the container's own mounts, as it sees them.
          const seen = readFileSync(`/proc/${readFileSync(pidFile, 'utf8').trim()}/root/secret`, 'utf8');
          if (seen.includes(LEAK)) counts.leaked++;
          else if (seen === '') counts.masked++;
          else {
            counts.unmasked++;
            errors.add(`the masked file read ${JSON.stringify(seen.slice(0, 40))}`);
          }
        } catch (err) {
          counts.unreadable++;
          errors.add(`reading the masked file: ${(err as NodeJS.ErrnoException).code}`);
        }
        await t.delete(id, true);
      }
      t.note(`${rounds} creates under the race: ${JSON.stringify(counts)}`);
      if (errors.size > 0) t.note(`errors: ${[...errors].join(' | ')}`);
      t.equal(
        counts.leaked + counts.unmasked,
        0,
        `${rounds} creates under the race each mask the file or fail; none shows the racer's file`,
        masked,
        counts,
      );
    },
  },
];
