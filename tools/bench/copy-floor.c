/*
 * The floor for `--extract` of a RAID0, in C: what the same copy costs without Node, measured in the same
 * run as ours and `cat` (tools/bench/engine.mjs compiles it when a C compiler is there).
 *
 *   copy-floor MODE OUT CHUNK_BYTES MEMBER...
 *
 * The volume is the members striped in CHUNK_BYTES chunks (dm-stripe's map), written to OUT.
 *   rw   pread each chunk into one buffer, leave it a hole when it is all zero, else pwrite it: the
 *        userspace copy a zero-detecting extract must make, one thread;
 *   cfr  copy_file_range each chunk from its member into OUT: one in-kernel copy per byte as `cat` makes,
 *        but no look at the data, so no holes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int all_zero(const uint64_t *words, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (words[i]) return 0;
  return 1;
}

static int fail(const char *what, const char *path) {
  perror(path ? path : what);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 5 || (strcmp(argv[1], "rw") && strcmp(argv[1], "cfr"))) {
    fprintf(stderr, "usage: copy-floor rw|cfr OUT CHUNK_BYTES MEMBER...\n");
    return 2;
  }
  const int rw = !strcmp(argv[1], "rw");
  const size_t chunk = strtoul(argv[3], NULL, 10);
  const int n = argc - 4;
  if (chunk == 0 || chunk % 8 || n > 64) return fail("bad chunk size or too many members", NULL);
  int fds[64];
  off_t member = -1;
  for (int i = 0; i < n; i++) {
    struct stat st;
    fds[i] = open(argv[4 + i], O_RDONLY);
    if (fds[i] < 0 || fstat(fds[i], &st)) return fail("open", argv[4 + i]);
    if (member < 0 || st.st_size < member) member = st.st_size;
  }
  member -= member % chunk;
  const off_t total = member * n;
  const int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0 || ftruncate(out, total)) return fail("open", argv[2]);
  uint64_t *buf = aligned_alloc(4096, chunk);
  if (!buf) return fail("aligned_alloc", NULL);
  for (off_t at = 0; at < total; at += chunk) {
    const off_t k = at / chunk;
    const int fd = fds[k % n];
    const off_t from = (k / n) * chunk;
    if (rw) {
      if (pread(fd, buf, chunk, from) != (ssize_t)chunk) return fail("pread", argv[4 + k % n]);
      if (all_zero(buf, chunk / 8)) continue;
      if (pwrite(out, buf, chunk, at) != (ssize_t)chunk) return fail("pwrite", argv[2]);
    } else {
      loff_t src = from, dst = at;
      for (size_t left = chunk; left > 0;) {
        const ssize_t done = copy_file_range(fd, &src, out, &dst, left, 0);
        if (done <= 0) return fail("copy_file_range", argv[2]);
        left -= (size_t)done;
      }
    }
  }
  if (close(out)) return fail("close", argv[2]);
  return 0;
}
