'use strict';
// Loads a CommonJS file with V8's compiled code for it cached between runs: what start-up costs beyond reading
// the file is compiling it, and the `dmraid` command is one file of ~550 KB (scripts/bundle.mjs).
// - Node 22.1 and later: Node's own compile cache (module.enableCompileCache), pointed at our directory.
// - Node 20, which has none: the same by hand — vm.Script with the cached data, written at exit after the run
//   compiled what it used, so the next run of the same command starts with it compiled.
// The cache lives in $XDG_CACHE_HOME/dmraid (default ~/.cache/dmraid), private to the user. This runs as root on
// disks, and cached code is code: a directory or file that another user could have written is not read (and not
// written), a file is used only for the very file and content it was made from (by device, inode, size, mtime
// and ctime: V8 itself checks only the source's length), and files are written whole, then renamed. Any failure
// of the cache only costs the compile: the command runs the same either way.
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const Module = require('node:module');

/** The cache directory, made private if missing; undefined when it cannot be or is not ours alone. */
function cacheDir() {
  // Node's own switch for its compile cache turns this one off too.
  if (process.env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  try {
    const base = process.env.XDG_CACHE_HOME && path.isAbsolute(process.env.XDG_CACHE_HOME) ? process.env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
    const dir = path.join(base, 'dmraid');
    // One level at a time: a recursive mkdir loops forever where mkdir fails with ENOENT (under /proc).
    for (const d of [base, dir]) {
      try {
        fs.mkdirSync(d, { mode: 0o700 });
      } catch (e) {
        if (e.code !== 'EEXIST') return undefined;
      }
    }
    return privateTo(dir, true) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** A directory or file owned by this user that nobody else can write. */
function privateTo(p, isDir) {
  const st = fs.lstatSync(p);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  return (isDir ? st.isDirectory() : st.isFile()) && st.uid === uid && (st.mode & 0o022) === 0;
}

const MAGIC = Buffer.from('dmraid-v8-cache\n', 'latin1');

/** A short name for a path: 32-bit FNV-1a of its UTF-16 code units, in hex (node:crypto costs a start 1-2 ms). */
function pathKey(p) {
  let h = 0x811c9dc5;
  for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Which file, at which content: device, inode, size, and the modification and change times in nanoseconds. A
 * write changes mtime and ctime, and nothing sets ctime back, so this names the bytes without reading them
 * again (V8 itself checks only the length of the source).
 */
const identity = (st) => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}\n`;

/**
 * A cache file: MAGIC, the identity of the source it was made from, how much of the file the run that made it
 * had run, V8's data. That data holds what that run had compiled, so a bigger command later (-s after -V: the
 * handlers' code, discovery) would compile the rest every time: a run that ran more of the file writes the cache
 * again, with what both compiled. "How much": the file's `modulesRun()`, the number of its on-demand modules
 * started (scripts/bundle.mjs), which only grows; a file without it is cached as its first run left it.
 */
function cachedDataFor(cacheFile, id) {
  try {
    if (!privateTo(cacheFile, false)) return undefined;
    const bytes = fs.readFileSync(cacheFile);
    const head = Buffer.concat([MAGIC, Buffer.from(id, 'latin1')]);
    if (bytes.length <= head.length || !bytes.subarray(0, head.length).equals(head)) return undefined;
    const line = bytes.indexOf(10, head.length);
    const reach = Number(bytes.toString('latin1', head.length, line));
    return line > 0 && Number.isSafeInteger(reach) ? { data: bytes.subarray(line + 1), reach } : undefined;
  } catch {
    return undefined; // no cache yet, or none to trust
  }
}

/**
 * Node 20: the file compiled with cached data where there is good cached data for exactly its content. `cache`
 * says what happened: `used`; `made` (none was there or V8 refused it: written at exit); `none` (no private
 * cache directory can be had: nothing read or written).
 */
function loadWithCachedData(file) {
  const vm = require('node:vm');
  const fd = fs.openSync(file, 'r');
  let source;
  let id;
  try {
    id = identity(fs.fstatSync(fd, { bigint: true }));
    source = fs.readFileSync(fd, 'latin1');
  } finally {
    fs.closeSync(fd);
  }
  // One cache file per installed file (by its path) and Node: an upgrade in place replaces its cache instead of
  // leaving the old one behind, and installations in other places do not overwrite each other's.
  const name = `${path.basename(file)}-${pathKey(path.resolve(file))}-${process.version}-${process.arch}.v8`;
  const dir = cacheDir();
  const cached = dir && cachedDataFor(path.join(dir, name), id);
  // Node's wrapper of a CommonJS file, with one more parameter: the file's way to import an ES module (a
  // handler package outside the bundle). import() inside code compiled by vm.Script needs
  // --experimental-vm-modules or prints an ExperimentalWarning on Node 20; here, in a module Node compiled, it
  // needs neither. The file names it `__dmraidImportHook` (scripts/bundle.mjs).
  const wrapped = `(function (exports, require, module, __filename, __dirname, __dmraidImportHook) { ${source}\n});`;
  const script = new vm.Script(wrapped, { filename: file, cachedData: cached?.data });
  const cache = !dir ? 'none' : !cached || script.cachedDataRejected ? 'made' : 'used';
  const mod = { exports: {}, filename: file, id: file, loaded: false };
  if (cache !== 'none') {
    process.once('exit', () => {
      const reach = typeof mod.exports.modulesRun === 'function' ? mod.exports.modulesRun() : 0;
      if (cache === 'made' || reach > cached.reach) save(dir, script, name, id, reach);
    });
  }
  script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file), (specifier) => import(specifier));
  mod.loaded = true;
  return { exports: mod.exports, cache };
}

/** Writes the cache: whole, under a temporary name, then renamed over the old one. */
function save(dir, script, name, id, reach) {
  try {
    const data = script.createCachedData();
    const tmp = path.join(dir, `.${name}.${process.pid}`);
    fs.rmSync(tmp, { force: true }); // left by a process of this pid that died between write and rename
    fs.writeFileSync(tmp, Buffer.concat([MAGIC, Buffer.from(`${id}${reach}\n`, 'latin1'), data]), { flag: 'wx', mode: 0o600 });
    fs.renameSync(tmp, path.join(dir, name));
  } catch {
    // a cache that cannot be written costs the next run its compile, nothing more
  }
}

/** The exports of a CommonJS file that requires only Node's built-ins, through a compile cache. */
function requireCached(file) {
  if (typeof Module.enableCompileCache === 'function') {
    if (!process.env.NODE_COMPILE_CACHE) {
      const dir = cacheDir();
      if (dir) Module.enableCompileCache(dir);
    }
    return require(file);
  }
  return loadWithCachedData(file).exports;
}

module.exports = { requireCached, loadWithCachedData };
