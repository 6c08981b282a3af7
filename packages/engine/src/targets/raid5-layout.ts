/**
 * md's RAID5 layouts (raid5_compute_sector): where a row's parity and data chunks lie. The raid4/5 target
 * uses them over all its devices; RAID6's md-only layouts (raid6_*_6) over all devices but the last (Q).
 */
export type Algorithm = 'left-asymmetric' | 'right-asymmetric' | 'left-symmetric' | 'right-symmetric' | 'parity-0' | 'parity-n';

/** md's raid5_compute_sector: the device of data chunk `ddIdx` and the parity device of `row`. */
export function raid5Place(algorithm: Algorithm, disks: number, row: number, ddIdx: number): { dev: number; parity: number } {
  const data = disks - 1;
  switch (algorithm) {
    case 'left-asymmetric': {
      const parity = data - (row % disks);
      return { dev: ddIdx >= parity ? ddIdx + 1 : ddIdx, parity };
    }
    case 'right-asymmetric': {
      const parity = row % disks;
      return { dev: ddIdx >= parity ? ddIdx + 1 : ddIdx, parity };
    }
    case 'left-symmetric': {
      const parity = data - (row % disks);
      return { dev: (parity + 1 + ddIdx) % disks, parity };
    }
    case 'right-symmetric': {
      const parity = row % disks;
      return { dev: (parity + 1 + ddIdx) % disks, parity };
    }
    case 'parity-0':
      return { dev: ddIdx + 1, parity: 0 };
    case 'parity-n':
      return { dev: ddIdx, parity: data };
  }
}
