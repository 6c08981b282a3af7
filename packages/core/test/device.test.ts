// Device access: which paths reach the same storage (what --extract must never write onto).
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromNodeError, parseDeviceSpec, sameStorage } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'core-device-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sameStorage', () => {
  it('a file, a symbolic link to it and a hard link to it are the same storage; another file or a missing path is not', async () => {
    const a = join(dir, 'a.img');
    const b = join(dir, 'b.img');
    await fs.writeFile(a, 'a');
    await fs.writeFile(b, 'a');
    await fs.symlink(a, join(dir, 'sym'));
    await fs.link(a, join(dir, 'hard'));
    expect(await sameStorage(a, a)).toBe(true);
    expect(await sameStorage(join(dir, 'sym'), a)).toBe(true);
    expect(await sameStorage(a, join(dir, 'hard'))).toBe(true);
    expect(await sameStorage(a, b)).toBe(false);
    expect(await sameStorage(join(dir, 'missing'), a)).toBe(false);
    expect(await sameStorage(join(dir, 'missing'), join(dir, 'missing'))).toBe(false);
  });
});

describe('fromNodeError', () => {
  it('gives the strerror text C prints for what a Node call threw; Node\'s own description, trimmed, for an errno it does not know', async () => {
    const missing = await fs.open(join(dir, 'none/x')).catch((e: unknown) => e);
    expect(fromNodeError('x', missing)).toEqual({ kind: 'io', path: 'x', code: 'ENOENT', message: 'No such file or directory' });
    const odd = Object.assign(new Error("EXDEV: cross-device link not permitted, rename 'a' -> 'b'"), { code: 'EXDEV' });
    expect(fromNodeError('a', odd)).toEqual({ kind: 'io', path: 'a', code: 'EXDEV', message: 'Cross-device link not permitted' });
    expect(fromNodeError('b', new Error('no code'))).toMatchObject({ code: 'EIO', message: 'Input/output error' });
  });
});

describe('parseDeviceSpec', () => {
  it('splits PATH:SERIAL unless a file of that whole name exists; a backslash quotes the next character', async () => {
    await fs.writeFile(join(dir, 'disk:1.img'), '');
    expect(await parseDeviceSpec('disk:1.img', dir)).toEqual({ path: 'disk:1.img' });
    expect(await parseDeviceSpec('disk:2.img', dir)).toEqual({ path: 'disk', serial: '2.img' });
    expect(await parseDeviceSpec('sda.img:WD 123 ', dir)).toEqual({ path: 'sda.img', serial: 'WD123' });
    expect(await parseDeviceSpec('a\\:b.img:S1', dir)).toEqual({ path: 'a:b.img', serial: 'S1' });
    expect(await parseDeviceSpec('plain.img', dir)).toEqual({ path: 'plain.img' });
  });
});
