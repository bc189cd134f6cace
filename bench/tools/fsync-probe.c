/*
 * LD_PRELOAD shim for storage experiments (bench/README.md, "fsync probe"): counts the
 * fsync()/fdatasync() calls of a process and can make each take longer, to emulate a slow
 * flush (an SD card or eMMC: milliseconds per flush, where this VM's disk takes ~0.1 ms).
 * The delay blocks the calling thread after the real flush, as a slow device would.
 *
 *   gcc -O2 -shared -fPIC -o /tmp/fsync-probe.so bench/tools/fsync-probe.c -ldl
 *   LD_PRELOAD=/tmp/fsync-probe.so FSYNC_DELAY_US=5000 FSYNC_COUNT_FILE=/tmp/fsyncs.txt <command>
 *
 * FSYNC_DELAY_US: extra microseconds per call (default 0). FSYNC_COUNT_FILE: at exit, each
 * process that flushed at least once appends "<pid> <calls> <comm>" to it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long calls;
static long delay_us = -1;

static void after_flush(void) {
  atomic_fetch_add(&calls, 1);
  if (delay_us < 0) {
    const char *d = getenv("FSYNC_DELAY_US");
    delay_us = d ? atol(d) : 0;
  }
  if (delay_us > 0) usleep((useconds_t)delay_us);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  int r = real(fd);
  after_flush();
  return r;
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  int r = real(fd);
  after_flush();
  return r;
}

__attribute__((destructor)) static void report(void) {
  const char *path = getenv("FSYNC_COUNT_FILE");
  long n = atomic_load(&calls);
  if (!path || n == 0) return;
  char comm[64] = "?";
  FILE *c = fopen("/proc/self/comm", "r");
  if (c) {
    if (fgets(comm, sizeof comm, c) == NULL) comm[0] = 0;
    fclose(c);
  }
  FILE *f = fopen(path, "a");
  if (!f) return;
  fprintf(f, "%d %ld %s", (int)getpid(), n, comm);
  fclose(f);
}
