/**
 * Native log (-n) in dmraid's ddf1_dump.c wording. dmraid prints each table's memory address
 * (`DDF1 Header at 0x55…`); here the table's byte offset on the device takes its place, so the output is
 * reproducible.
 */
import { logLine } from '@dmraid/core';
import { BLOCK, type Ddf1Header } from './layout.js';
import type { Ddf1, Table } from './metadata.js';

const X = (n: number | bigint) => n.toString(16).toUpperCase();
/** C's %d of a 32-bit value. */
const d32 = (n: number) => String(n | 0);
const at = (byteOffset: number) => `0x${byteOffset.toString(16)}`;

/** `"<printable>" [xx xx …]`, non-printables as `.` (dmraid's _dp_guid). */
function guid(offset: number, label: string, raw: Uint8Array): string {
  const text = [...raw].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  const hex = [...raw].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return logLine(offset, `${label}"${text}" [${hex}]`);
}

function header(t: Table<Ddf1Header>): string[] {
  const h = t.value;
  const P = (o: number, text: string) => logLine(o, text);
  return [
    `DDF1 Header at ${at(t.lba * BLOCK)}`,
    P(0x000, `signature:\t0x${X(h.signature)}`),
    P(0x004, `crc:\t\t0x${X(h.crc)}`),
    guid(0x008, 'guid:\t\t', h.guid),
    guid(0x020, 'rev:\t\t', h.ddf_rev),
    P(0x028, `seqnum:\t\t${d32(h.seqnum)}`),
    P(0x02c, `timestamp:\t0x${X(h.timestamp)}`),
    P(0x030, `open:\t\t0x${X(h.open_flag)}`),
    P(0x031, `foreign:\t\t0x${X(h.foreign_flag)}`),
    P(0x032, `grouping:\t\t0x${X(h.grouping_enforced)}`),
    P(0x060, `primary header:\t${h.primary_table_lba}`),
    P(0x068, `secondary header:\t${h.secondary_table_lba}`),
    P(0x070, `header type:\t0x${X(h.header_type)}`),
    P(0x074, `workspace len:\t${d32(h.workspace_length)}`),
    P(0x078, `workspace lba:\t${h.workspace_lba}`),
    P(0x080, `max pd:\t\t${h.max_phys_drives}`),
    P(0x082, `max vd:\t\t${h.max_virt_drives}`),
    P(0x084, `max part:\t\t${h.max_partitions}`),
    P(0x086, `vd_config len:\t${h.vd_config_record_len}`),
    P(0x088, `max_primary_elts:\t${h.max_primary_elements}`),
    P(0x0c0, `adapter_offset:\t${d32(h.adapter_data_offset)}`),
    P(0x0c4, `adapter_len:\t${d32(h.adapter_data_len)}`),
    P(0x0c8, `pd_offset:\t${d32(h.phys_drive_offset)}`),
    P(0x0cc, `pd_len:\t\t${d32(h.phys_drive_len)}`),
    P(0x0d0, `vd_offset:\t${d32(h.virt_drive_offset)}`),
    P(0x0d4, `vd_len:\t\t${d32(h.virt_drive_len)}`),
    P(0x0d8, `config_offset:\t${d32(h.config_record_offset)}`),
    P(0x0dc, `config_len:\t${d32(h.config_record_len)}`),
    P(0x0e0, `disk_data_offset:\t${d32(h.disk_data_offset)}`),
    P(0x0e4, `disk_data_len:\t${d32(h.disk_data_len)}`),
    P(0x0e8, `badblock_offset:\t${d32(h.badblock_offset)}`),
    P(0x0ec, `badblock_len:\t${d32(h.badblock_len)}`),
    P(0x0f0, `diag_offset:\t${d32(h.diag_offset)}`),
    P(0x0f4, `diag_len:\t\t${d32(h.diag_len)}`),
    P(0x0f8, `vendor_offset:\t${d32(h.vendor_offset)}`),
    P(0x0fc, `vendor_len:\t${d32(h.vendor_len)}`),
  ];
}

export function ddf1Log(path: string, d: Ddf1): string[] {
  const P = logLine;
  const lines = [`${path} (ddf1):`, `DDF1 anchor at ${d.anchor.lba} with tables in ${d.endian === 'le' ? 'little' : 'big'}-endian format.`];
  lines.push(...header(d.anchor), ...header(d.header));
  if (d.secondary) lines.push(...header(d.secondary));
  if (d.adapter) {
    const a = d.adapter.value;
    lines.push(
      `Adapter Data at ${at(d.adapter.lba * BLOCK)}`,
      P(0x00, `signature:\t0x${X(a.signature)}`),
      P(0x04, `crc:\t\t0x${X(a.crc)}`),
      guid(0x08, 'guid:\t\t', a.guid),
      P(0x20, `pci vendor:\t0x${X(a.pci_vendor)}`),
      P(0x22, `pci device:\t0x${X(a.pci_device)}`),
      P(0x24, `pci subvendor:\t0x${X(a.pci_subvendor)}`),
      P(0x26, `pci subdevice:\t0x${X(a.pci_subdevice)}`),
    );
  }
  const dd = d.diskData.value;
  lines.push(
    `Disk Data at ${at(d.diskData.lba * BLOCK)}`,
    P(0x00, `signature:\t0x${X(dd.signature)}`),
    P(0x04, `crc:\t\t0x${X(dd.crc)}`),
    guid(0x08, 'guid:\t\t', dd.guid),
    P(0x20, `reference:\t\t0x${X(dd.reference)}`),
    P(0x24, `forced_ref_flag:\t${dd.forced_ref_flag}`),
    P(0x25, `forced_guid_flag:\t${dd.forced_guid_flag}`),
  );
  const pdBase = d.pdHeader.lba * BLOCK;
  const ph = d.pdHeader.value;
  lines.push(
    `Physical Drive Header at ${at(pdBase)}`,
    P(0x00, `signature:\t0x${X(ph.signature)}`),
    P(0x04, `crc:\t\t0x${X(ph.crc)}`),
    P(0x08, `num drives:\t${ph.num_drives}`),
    P(0x0a, `max drives:\t${ph.max_drives}`),
  );
  d.pds.slice(0, ph.num_drives).forEach((pd, i) => {
    lines.push(
      `Physical Drive at ${at(pdBase + 64 + 64 * i)}`,
      guid(0x00, 'guid:\t\t', pd.guid),
      P(0x18, `reference #:\t0x${X(pd.reference)}`),
      P(0x1c, `type:\t\t0x${X(pd.type)}`),
      P(0x1e, `state:\t\t0x${X(pd.state)}`),
      P(0x20, `size:\t\t${pd.size >> 32n === 0xffffffffn ? pd.size & 0xffffffffn : pd.size}`),
      guid(0x28, 'path info:\t', pd.path_info),
    );
  });
  const vdBase = d.vdHeader.lba * BLOCK;
  const vh = d.vdHeader.value;
  lines.push(
    `Virtual Drive Header at ${at(vdBase)}`,
    P(0x00, `signature:\t0x${X(vh.signature)}`),
    P(0x04, `crc:\t\t0x${X(vh.crc)}`),
    P(0x08, `num drives:\t${vh.num_drives}`),
    P(0x0a, `max drives:\t${vh.max_drives}`),
  );
  d.vds.forEach((vd, i) => {
    lines.push(
      `Virtual Drive at ${at(vdBase + 64 + 64 * i)}`,
      guid(0x00, 'guid:\t\t', vd.guid),
      P(0x18, `vd #:\t\t0x${X(vd.vd_num)}`),
      P(0x1c, `type:\t\t0x${X(vd.type)}`),
      P(0x20, `state:\t\t0x${X(vd.state)}`),
      P(0x21, `init state:\t0x${X(vd.init_state)}`),
      guid(0x30, 'name:\t\t', vd.name),
    );
  });
  const cfgBase = d.cfg.lba * BLOCK;
  for (const r of d.records) {
    if (r.kind === 'vd') {
      const cr = r.cr;
      lines.push(
        `Virtual Drive Config Record at ${at(cfgBase + r.at)}`,
        P(0x00, `signature:\t0x${X(cr.signature)}`),
        P(0x04, `crc:\t\t0x${X(cr.crc)}`),
        guid(0x08, 'guid:\t\t', cr.guid),
        P(0x20, `timestamp:\t0x${X(cr.timestamp)}`),
        P(0x24, `seqnum:\t\t${d32(cr.seqnum)}`),
        P(0x40, `primary count:\t${cr.primary_element_count}`),
        P(0x42, `stripe size:\t${cr.stripe_size}KiB`),
        P(0x43, `raid level:\t${cr.raid_level}`),
        P(0x44, `raid qualifier:\t${cr.raid_qualifier}`),
        P(0x45, `secondary count:\t${cr.secondary_element_count}`),
        P(0x46, `secondary number:\t${cr.secondary_element_number}`),
        P(0x47, `secondary level:\t${cr.secondary_element_raid_level}`),
        ...cr.spares.map((s, i) => P(0x60 + 4 * i, `spare ${i}:\t\t0x${X(s)}`)),
        P(0x80, `cache policy:\t0x${X(cr.cache_policy)}`),
        P(0x88, `bg task rate:\t${cr.bg_task_rate}`),
        P(0x48, `sector count:\t${cr.sectors}`),
        P(0x50, `size:\t\t${cr.size}`),
        'Drive map:',
        ...r.ids.map((id, i) => `${i}: ${X(id)} @ ${r.offsets[i] ?? 0n}`),
      );
    } else {
      const sh = r.header;
      lines.push(
        `Spare Config Record at ${at(cfgBase + r.at)}`,
        P(0x00, `signature:\t0x${X(sh.signature)}`),
        P(0x04, `crc:\t\t0x${X(sh.crc)}`),
        P(0x08, `timestamp:\t0x${X(sh.timestamp)}`),
        P(0x13, `type:\t\t0x${X(sh.type)}`),
        P(0x14, `num drives:\t${sh.num_spares}`),
        P(0x16, `max drives:\t${sh.max_spares}`),
      );
      r.spares.forEach((s, i) => {
        lines.push(`Spare ${i}:`, guid(0x20 + 32 * i, 'guid:\t\t', s.guid), P(0x38 + 32 * i, `secondary:\t${s.secondary_element}`));
      });
    }
  }
  return lines;
}
