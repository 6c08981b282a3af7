/*
 * The floor for `--extract` of a RAID0, in C: what the same copy costs without Node, measured in the same
 * run as ours and `cat` (tools/bench/engine.mjs compiles it when a C compiler is there).
 *
 *   copy-floor MODE OUT CHUNK_BYTES MEMBER...
 *
 * The volume is the members striped in CHUNK_BYTES chunks (dm-stripe's map), written to OUT.
 *   rw   pread each chunk into one buffer, leave it a hole when it is all zero, else pwrite it: the
 *        userspace copy a zero-detecting extract must make, one thread;
 *   rw2  the same in two threads, as ours: one reads 1 MiB pieces of the volume into a ring of four
 *        buffers, the other looks for zero and writes, 128 KiB at a time;
 *   cfr  copy_file_range each chunk from its member into OUT: one in-kernel copy per byte as `cat` makes,
 *        but no look at the data, so no holes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
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

/* rw2: the ring between the reading and the writing thread. */
enum { SLOTS = 4, PIECE = 1 << 20, WRITE = 128 << 10 };
static struct {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  uint64_t *slot[SLOTS];
  size_t filled[SLOTS]; /* bytes in the slot, 0 when free */
  int done, failed;
  const int *fds;
  int n;
  size_t chunk;
  off_t total;
} ring = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static void *reader(void *unused) {
  (void)unused;
  for (off_t at = 0, i = 0; at < ring.total; at += PIECE, i++) {
    const int s = i % SLOTS;
    pthread_mutex_lock(&ring.lock);
    while (ring.filled[s] && !ring.failed) pthread_cond_wait(&ring.changed, &ring.lock);
    pthread_mutex_unlock(&ring.lock);
    if (ring.failed) break;
    const size_t len = ring.total - at < PIECE ? (size_t)(ring.total - at) : PIECE;
    for (size_t o = 0; o < len; o += ring.chunk) {
      const off_t k = (at + o) / ring.chunk;
      if (pread(ring.fds[k % ring.n], (char *)ring.slot[s] + o, ring.chunk, (k / ring.n) * ring.chunk) != (ssize_t)ring.chunk) {
        pthread_mutex_lock(&ring.lock);
        ring.failed = 1;
        pthread_cond_broadcast(&ring.changed);
        pthread_mutex_unlock(&ring.lock);
        return NULL;
      }
    }
    pthread_mutex_lock(&ring.lock);
    ring.filled[s] = len;
    pthread_cond_broadcast(&ring.changed);
    pthread_mutex_unlock(&ring.lock);
  }
  return NULL;
}

static int two_threads(const int *fds, int n, size_t chunk, off_t total, int out, const char *path) {
  if (PIECE % chunk) return fail("chunk must divide 1 MiB", NULL);
  ring.fds = fds, ring.n = n, ring.chunk = chunk, ring.total = total;
  for (int s = 0; s < SLOTS; s++)
    if (!(ring.slot[s] = aligned_alloc(4096, PIECE))) return fail("aligned_alloc", NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, reader, NULL)) return fail("pthread_create", NULL);
  int err = 0;
  for (off_t at = 0, i = 0; at < total && !err; at += PIECE, i++) {
    const int s = i % SLOTS;
    pthread_mutex_lock(&ring.lock);
    while (!ring.filled[s] && !ring.failed) pthread_cond_wait(&ring.changed, &ring.lock);
    const size_t len = ring.filled[s];
    err = ring.failed;
    pthread_mutex_unlock(&ring.lock);
    for (size_t o = 0; o < len && !err; o += WRITE) {
      const size_t w = len - o < WRITE ? len - o : WRITE;
      const uint64_t *p = ring.slot[s] + o / 8;
      if (!all_zero(p, w / 8) && pwrite(out, p, w, at + o) != (ssize_t)w) err = fail("pwrite", path);
    }
    pthread_mutex_lock(&ring.lock);
    ring.filled[s] = 0;
    if (err) ring.failed = 1;
    pthread_cond_broadcast(&ring.changed);
    pthread_mutex_unlock(&ring.lock);
  }
  pthread_join(t, NULL);
  return err || ring.failed ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 5 || (strcmp(argv[1], "rw") && strcmp(argv[1], "rw2") && strcmp(argv[1], "cfr"))) {
    fprintf(stderr, "usage: copy-floor rw|rw2|cfr OUT CHUNK_BYTES MEMBER...\n");
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
  struct stat st;
  if (out < 0 || fstat(out, &st) || (S_ISREG(st.st_mode) && ftruncate(out, total))) return fail("open", argv[2]);
  if (!strcmp(argv[1], "rw2")) {
    if (two_threads(fds, n, chunk, total, out, argv[2])) return fail("read", NULL);
    return close(out) ? fail("close", argv[2]) : 0;
  }
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
