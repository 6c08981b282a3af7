// The DDF layouts mdadm creates for testbed/ddf1/mdadm-*/ (ddf1-mdadm.mjs). 64 MiB images;
// RAID5/6 with 32 KiB chunks so that the kernel accepts dmraid's region size (dm-vm README).
export const MDADM_LAYOUTS = [
  {
    config: 'mdadm-raid0-2',
    description: 'RAID0 over 2 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 2,
    volumes: [{ level: 0 }],
  },
  {
    config: 'mdadm-raid1-2',
    description: 'RAID1 over 2 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 2,
    volumes: [{ level: 1 }],
  },
  {
    config: 'mdadm-raid5-3',
    description: 'RAID5 (32 KiB chunks) over 3 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 3,
    volumes: [{ level: 5, chunk: 32 }],
  },
  {
    config: 'mdadm-raid10-4',
    description: 'RAID10 over 4 disks (two RAID1 basic VDs, spanned), created by mdadm 4.2 (DDF) in the VM',
    disks: 4,
    volumes: [{ level: 10 }],
  },
  {
    config: 'mdadm-raid6-4',
    description: 'RAID6 (32 KiB chunks) over 4 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 4,
    volumes: [{ level: 6, chunk: 32 }],
  },
  // The three RAID6 layouts mdadm writes as DDF (super-ddf.c layout_md2ddf): RLQ 1, 2, 3.
  {
    config: 'mdadm-raid6-4-zr',
    description: 'RAID6 ddf-zero-restart (RLQ 1, 32 KiB chunks) over 4 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 4,
    volumes: [{ level: 6, chunk: 32, layout: 'ddf-zero-restart' }],
  },
  {
    config: 'mdadm-raid6-4-nr',
    description: 'RAID6 ddf-N-restart (RLQ 2, 64 KiB chunks) over 4 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 4,
    volumes: [{ level: 6, chunk: 64, layout: 'ddf-N-restart' }],
  },
  {
    config: 'mdadm-raid6-5',
    description: 'RAID6 ddf-N-continue (RLQ 3, 64 KiB chunks) over 5 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 5,
    volumes: [{ level: 6, chunk: 64, layout: 'ddf-N-continue' }],
  },
  {
    config: 'mdadm-raid6-5-zr',
    description: 'RAID6 ddf-zero-restart (RLQ 1, 32 KiB chunks) over 5 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 5,
    volumes: [{ level: 6, chunk: 32, layout: 'ddf-zero-restart' }],
  },
  {
    config: 'mdadm-raid6-5-nr',
    description: 'RAID6 ddf-N-restart (RLQ 2, 32 KiB chunks) over 5 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 5,
    volumes: [{ level: 6, chunk: 32, layout: 'ddf-N-restart' }],
  },
  {
    config: 'mdadm-two-vds-2',
    description: 'RAID1 (12 MiB) and RAID0 (the rest) in one container of 2 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 2,
    volumes: [{ level: 1, size: '12M' }, { level: 0 }],
  },
  {
    // sdc's only VD is in the second config record: dmraid takes "n-th record of this disk" for "record n".
    config: 'mdadm-two-vds-3',
    description: 'RAID1 (12 MiB) on disks 0 and 1, RAID0 on disks 1 and 2, one container of 3 disks, created by mdadm 4.2 (DDF) in the VM',
    disks: 3,
    volumes: [
      { level: 1, size: '12M', members: [0, 1] },
      { level: 0, members: [1, 2] },
    ],
  },
  {
    config: 'mdadm-raid5-3-failed',
    description: 'RAID5 (32 KiB chunks) over 3 disks, the third failed and removed with mdadm before the stop (DDF, in the VM)',
    disks: 3,
    volumes: [{ level: 5, chunk: 32 }],
    after: ['mdadm /dev/md/vol0 --fail $DISK2', 'sleep 1', 'mdadm /dev/md/vol0 --remove $DISK2', 'sleep 1'],
  },
  {
    config: 'mdadm-raid1-2-missing',
    description: 'RAID1 over 2 disks created by mdadm 4.2 (DDF) in the VM, the second disk left out',
    disks: 2,
    volumes: [{ level: 1 }],
    leaveOut: [1],
  },
  {
    config: 'mdadm-raid1-2-spare',
    // `mdadm --add` of a disk to a DDF container segfaults in mdadm 4.2: the spare is a container disk that
    // no volume uses, which mdadm marks Global-Spare.
    description: 'RAID1 over 2 of the 3 disks of a container created by mdadm 4.2 (DDF) in the VM; the third is a global spare',
    disks: 3,
    volumes: [{ level: 1, members: [0, 1] }],
  },
].map((l) => ({
  ...l,
  serials: Array.from(
    { length: l.disks },
    (_, i) =>
      `${l.config
        .slice('mdadm-'.length)
        .replace(/[^a-z0-9]/gi, '')
        .toUpperCase()
        .slice(0, 10)}D${i}`
  ),
}));

/** The VM script: container, volumes, resync, the layout's own steps, a clean stop, then --examine of each disk. */
export function mdadmScript(layout) {
  const n = layout.disks;
  const lines = [`mdadm --create /dev/md/ddf0 --metadata=ddf --raid-devices=${n} --run $DISKS || exit 11`];
  layout.volumes.forEach((v, i) => {
    // `members`: the container disks the volume is on (default: all).
    const on = v.members ?? Array.from({ length: n }, (_, k) => k);
    const m = on.length;
    const opts = [
      `--level=${v.level}`,
      `--raid-devices=${m}`,
      v.chunk ? `--chunk=${v.chunk}` : '',
      v.size ? `--size=${v.size}` : '',
      v.layout ? `--layout=${v.layout}` : '',
    ].filter(Boolean);
    // Fewer members than the container has: name them (mdadm finds their container).
    const from = m === n ? '/dev/md/ddf0' : on.map((k) => `$DISK${k}`).join(' ');
    lines.push(`mdadm --create /dev/md/vol${i} ${opts.join(' ')} --run ${from} || exit ${12 + i}`);
  });
  lines.push(`mdadm --wait ${layout.volumes.map((_, i) => `/dev/md/vol${i}`).join(' ')}`);
  lines.push(...(layout.after ?? []));
  lines.push('cat /proc/mdstat');
  // md's own reading of each volume (its layout, which --examine does not print for DDF): mdadm-detail.txt.
  lines.push('echo "=== detail"');
  layout.volumes.forEach((_, i) => lines.push(`mdadm --detail /dev/md/vol${i} | grep -E "Raid Level|Layout|Chunk Size|Raid Devices"`));
  lines.push(
    `mdadm --stop ${layout.volumes
      .map((_, i) => `/dev/md/vol${i}`)
      .reverse()
      .join(' ')} /dev/md/ddf0`
  );
  lines.push('for i in $(seq 50); do pidof mdmon >/dev/null || break; sleep 0.2; done');
  lines.push('echo "=== examine"');
  lines.push('for d in $DISKS; do echo "=== examine $d"; mdadm --examine $d; done');
  lines.push('true');
  return lines.join('\n');
}
