/*
 * cdmsim's guest runner: executes scenario steps with the real system calls of the Linux
 * kernel it runs on, and prints the results on the console for the host to compare.
 *
 * It runs as PID 1's child in a throwaway QEMU guest. Input (argv[1]) is a program the
 * host compiled from scenario files, one directive per line:
 *
 *   S <index> <name>                          start a scenario
 *   C <path> <cpus|-> <mems|->                a cgroup with the cpuset controller
 *   T <name> <cgroup> <cpu> <privileged 0|1> [<parent>]
 *                                             a task (a process pinned to the CPU); with a
 *                                             parent, the child a fork step of it makes
 *   F <name> <bytes|-> <ranges|->             a file of the scenario on the disk: made
 *                                             sparse (ftruncate) before the first step, or
 *                                             (-) only named, for the final report; with
 *                                             the pages its steps touch ("a-b,...")
 *   P <step> <task> <op> key=value ...        a step, executed in file order
 *   E                                         end of the scenario
 *
 * and, before the first scenario, "D <dir>": the disk's file system is mounted there.
 *
 * Output lines start with "@@" so that the host finds them among kernel messages:
 *   @@S <index>                       scenario started
 *   @@R <index> <step> <json>         result of a step: {"ret":..,"errno":..,"out":{..}}
 *   @@K <index> <step>                the step's task was killed (OOM) during the step
 *   @@O <index> <step> <json>         an OOM kill seen in the kernel log during the step
 *   @@M <index> <task> <name> <json>  a mapping at the end: start, length, policy, pages
 *   @@L <index> <name> <json>         a file at the end: size, page-cache pages per node
 *   @@F <line>                        a "Fallback order for Node" line of the kernel log
 *   @@N <json>                        the guest's node states
 *   @@X <index> <message>             the scenario could not be run
 *   @@E <index>                       scenario done
 *
 * Addresses are "m:<mapping>:<offset>", "l:<value>", "null" or "bad"; a length may be
 * "map:<mapping>:<offset>" (to the end of the mapping). Nodemasks are "null", "bad" or
 * "b:<bit>,<bit>,...". Paths and values are percent-encoded.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/futex.h>
#include <time.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450
#endif

#define MAX_TASKS 64
#define MAX_MAPS 256
#define MAX_NODES 1024
#define LINE 65536

typedef unsigned long ulong;

/*
 * The coordinator and a task talk through a shared, pre-faulted page range and futexes,
 * so that running a step allocates no memory besides what the step itself does (pipes
 * would allocate a page per message and show in numastat).
 */
#define CHAN_BYTES (1 << 20)
struct channel {
  volatile int cmd_seq; /* bumped by the coordinator when a command is in buf */
  volatile int res_seq; /* bumped by the task when its answer is in buf */
  char buf[CHAN_BYTES - 64];
};

static long futex(volatile int *addr, int op, int val, const struct timespec *ts) {
  return syscall(SYS_futex, addr, op, val, ts, NULL, 0);
}

/* ------------------------------------------------------------------------------------ */
/* small helpers                                                                         */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stdout, "@@X -1 ");
  vfprintf(stdout, fmt, ap);
  fprintf(stdout, "\n");
  fflush(stdout);
  va_end(ap);
  exit(1);
}

static void pct_decode(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
      char h[3] = {p[1], p[2], 0};
      *o++ = (char)strtol(h, NULL, 16);
      p += 2;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
}

/* JSON string escaping into a buffer */
static void json_str(char *out, size_t n, const char *s) {
  size_t k = 0;
  if (k < n) out[k++] = '"';
  for (; *s && k + 7 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[k++] = '\\';
      out[k++] = (char)c;
    } else if (c == '\n') {
      out[k++] = '\\';
      out[k++] = 'n';
    } else if (c == '\t') {
      out[k++] = '\\';
      out[k++] = 't';
    } else if (c < 0x20) {
      k += (size_t)snprintf(out + k, n - k, "\\u%04x", c);
    } else {
      out[k++] = (char)c;
    }
  }
  if (k < n) out[k++] = '"';
  out[k < n ? k : n - 1] = 0;
}

static int write_file(const char *path, const char *value) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -errno;
  ssize_t w = write(fd, value, strlen(value));
  int err = w < 0 ? -errno : 0;
  close(fd);
  return err;
}

static ssize_t read_file(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -errno;
  size_t k = 0;
  for (;;) {
    ssize_t r = read(fd, buf + k, n - 1 - k);
    if (r < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (r == 0) break;
    k += (size_t)r;
    if (k >= n - 1) break;
  }
  buf[k] = 0;
  close(fd);
  return (ssize_t)k;
}

static const char *errno_name(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case ESRCH: return "ESRCH";
  case EIO: return "EIO";
  case E2BIG: return "E2BIG";
  case EBADF: return "EBADF";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EBUSY: return "EBUSY";
  case EEXIST: return "EEXIST";
  case EXDEV: return "EXDEV";
  case ENODEV: return "ENODEV";
  case EINVAL: return "EINVAL";
  case ENOSPC: return "ENOSPC";
  case ERANGE: return "ERANGE";
  case ENOSYS: return "ENOSYS";
  case EOPNOTSUPP: return "EOPNOTSUPP";
  case EOVERFLOW: return "EOVERFLOW";
  case EFBIG: return "EFBIG";
  case EISDIR: return "EISDIR";
  case ENOTDIR: return "ENOTDIR";
  case ENAMETOOLONG: return "ENAMETOOLONG";
  case EROFS: return "EROFS";
  case EDQUOT: return "EDQUOT";
  case EAGAIN: return "EAGAIN";
  case EINTR: return "EINTR";
  default: {
    static char buf[16];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
  }
  }
}

/* ------------------------------------------------------------------------------------ */
/* the program                                                                           */

struct task_def {
  char name[64];
  char cgroup[256];
  int cpu;
  int priv;
  char parent[64]; /* for a child of a fork step: the task that forks it */
  pid_t pid;
  int pidfd;  /* readable once the process has exited (its memory is gone by then) */
  int chfd;   /* the channel's memfd, inherited by the tasks (a parent forks with it) */
  struct channel *ch; /* shared with the task */
  int alive;
};

static struct task_def tasks[MAX_TASKS];
static int ntasks;
static int scen_index;
static int max_node_id = 0;

/* numastat baseline of the scenario */
static long base_stat[MAX_NODES + 1][6];

/* ------------------------------------------------------------------------------------ */
/* in the task process                                                                   */

struct mapping {
  char name[64];
  ulong start;
  ulong len;
  int valid;
};

static struct mapping maps[MAX_MAPS];
static int nmaps;

static struct mapping *find_map(const char *name) {
  for (int i = nmaps - 1; i >= 0; i--)
    if (strcmp(maps[i].name, name) == 0) return &maps[i];
  return NULL;
}

/*
 * Keep the numa_maps lines of VMAs inside the scenario's mappings (the program's own text,
 * heap, stack and buffers are not the scenario's), in place.
 */
static void keep_scenario_lines(char *text) {
  char *out = text;
  for (char *line = text; *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
    ulong start = strtoul(line, NULL, 16);
    int keep = 0;
    for (int i = 0; i < nmaps && !keep; i++)
      keep = maps[i].valid && start >= maps[i].start && start < maps[i].start + maps[i].len;
    if (keep) {
      memmove(out, line, len);
      out += len;
    }
    line += len;
  }
  *out = 0;
}

static char *arg(char **kv, int n, const char *key) {
  size_t kl = strlen(key);
  for (int i = 0; i < n; i++)
    if (strncmp(kv[i], key, kl) == 0 && kv[i][kl] == '=') return kv[i] + kl + 1;
  return NULL;
}

static ulong parse_u64(const char *s) {
  if (!s) return 0;
  if (s[0] == '-') return (ulong)strtoll(s, NULL, 0);
  return strtoul(s, NULL, 0);
}

static ulong resolve_addr(const char *s) {
  if (!s || strcmp(s, "null") == 0) return 0;
  if (strcmp(s, "bad") == 0) return (ulong)-1;
  if (strncmp(s, "l:", 2) == 0) return parse_u64(s + 2);
  if (strncmp(s, "m:", 2) == 0) {
    char name[64];
    const char *c = strchr(s + 2, ':');
    size_t l = c ? (size_t)(c - (s + 2)) : strlen(s + 2);
    if (l >= sizeof name) l = sizeof name - 1;
    memcpy(name, s + 2, l);
    name[l] = 0;
    struct mapping *m = find_map(name);
    ulong off = c ? parse_u64(c + 1) : 0;
    if (!m || !m->valid) return (ulong)-1; /* MAP_FAILED */
    return m->start + off;
  }
  return parse_u64(s);
}

static ulong resolve_len(const char *s) {
  if (!s) return 0;
  if (strncmp(s, "map:", 4) == 0) {
    char name[64];
    const char *c = strchr(s + 4, ':');
    size_t l = c ? (size_t)(c - (s + 4)) : strlen(s + 4);
    if (l >= sizeof name) l = sizeof name - 1;
    memcpy(name, s + 4, l);
    name[l] = 0;
    struct mapping *m = find_map(name);
    ulong off = c ? parse_u64(c + 1) : 0;
    if (!m || !m->valid) return 0;
    return m->len > off ? m->len - off : 0;
  }
  return parse_u64(s);
}

/* A nodemask argument: *mask is NULL, (void *)-1, or a buffer large enough for maxnode. */
static ulong *nodemask_arg(const char *s, ulong maxnode, ulong **to_free) {
  *to_free = NULL;
  if (!s || strcmp(s, "null") == 0) return NULL;
  if (strcmp(s, "bad") == 0) return (ulong *)-1;
  ulong bits = maxnode > 40000 ? 40000 : maxnode;
  ulong maxbit = 0;
  const char *p = s + 2;
  while (*p) {
    ulong b = strtoul(p, (char **)&p, 10);
    if (b + 1 > maxbit) maxbit = b + 1;
    if (*p == ',') p++;
    else break;
  }
  if (maxbit > bits) bits = maxbit;
  size_t longs = bits / 64 + 2;
  ulong *m = calloc(longs, sizeof(ulong));
  p = s + 2;
  while (*p) {
    ulong b = strtoul(p, (char **)&p, 10);
    m[b / 64] |= 1UL << (b % 64);
    if (*p == ',') p++;
    else break;
  }
  *to_free = m;
  return m;
}

static void nodes_to_list(const ulong *mask, ulong nbits, char *out, size_t n) {
  size_t k = 0;
  out[0] = 0;
  long i = 0;
  while ((ulong)i < nbits) {
    if (!(mask[i / 64] & (1UL << (i % 64)))) {
      i++;
      continue;
    }
    long j = i;
    while ((ulong)(j + 1) < nbits && (mask[(j + 1) / 64] & (1UL << ((j + 1) % 64)))) j++;
    if (k) k += (size_t)snprintf(out + k, n - k, ",");
    if (j == i) k += (size_t)snprintf(out + k, n - k, "%ld", i);
    else k += (size_t)snprintf(out + k, n - k, "%ld-%ld", i, j);
    i = j + 1;
  }
}

static sigjmp_buf segv_jmp;
static volatile sig_atomic_t in_touch;

static void on_segv(int sig) {
  (void)sig;
  if (in_touch) siglongjmp(segv_jmp, 1);
  _exit(99);
}

static long minflt(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt + ru.ru_majflt;
}

static const char *mode_name(int m) {
  static const char *names[] = {"MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_LOCAL",
                                "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"};
  if (m >= 0 && m < 7) return names[m];
  static char buf[16];
  snprintf(buf, sizeof buf, "%d", m);
  return buf;
}

#define PAGES_BATCH 65536
static void *pj_ptrs[PAGES_BATCH];
static int pj_status[PAGES_BATCH];
static int pj_nodes[PAGES_BATCH];
static char big_buf[1 << 20];  /* /proc files; the data of write_file and read_file */
static char step_extra[CHAN_BYTES];
static char step_js[CHAN_BYTES - 16];

/* Pages per node of [start, start+len), by move_pages() in query mode. */
/* {"node":count,...} of the nodes with a non-zero count */
static void counts_json(const long *count, char *out, size_t n) {
  size_t k = (size_t)snprintf(out, n, "{");
  int first = 1;
  for (int i = 0; i < MAX_NODES; i++) {
    if (!count[i]) continue;
    k += (size_t)snprintf(out + k, n - k, "%s\"%d\":%ld", first ? "" : ",", i, count[i]);
    first = 0;
  }
  snprintf(out + k, n - k, "}");
}

static void pages_json(ulong start, ulong len, char *out, size_t n) {
  long count[MAX_NODES];
  memset(count, 0, sizeof count);
  ulong pages = (len + 4095) / 4096;
  enum { batch = PAGES_BATCH };
  void **ptrs = pj_ptrs;
  int *status = pj_status;
  for (ulong done = 0; done < pages; done += batch) {
    ulong c = pages - done < batch ? pages - done : batch;
    for (ulong i = 0; i < c; i++) ptrs[i] = (void *)(start + (done + i) * 4096);
    long r = syscall(SYS_move_pages, 0, c, ptrs, NULL, status, 0);
    if (r < 0) continue;
    for (ulong i = 0; i < c; i++)
      if (status[i] >= 0 && status[i] < MAX_NODES) count[status[i]]++;
  }
  counts_json(count, out, n);
}

/* The nodes' numastat files stay open: re-reading an open sysfs file allocates nothing. */
static int numastat_fd[MAX_NODES + 1];
static int numastat_fds_open;

static void read_numastat(long st[][6]) {
  char path[128], buf[512];
  if (!numastat_fds_open) {
    for (int i = 0; i <= max_node_id; i++) {
      snprintf(path, sizeof path, "/sys/devices/system/node/node%d/numastat", i);
      numastat_fd[i] = open(path, O_RDONLY);
    }
    numastat_fds_open = 1;
  }
  for (int i = 0; i <= max_node_id; i++) {
    for (int f = 0; f < 6; f++) st[i][f] = 0;
    if (numastat_fd[i] < 0) continue;
    ssize_t r = pread(numastat_fd[i], buf, sizeof buf - 1, 0);
    if (r <= 0) continue;
    buf[r] = 0;
    char *p = buf;
    for (int f = 0; f < 6 && p; f++) {
      char *sp = strchr(p, ' ');
      if (!sp) break;
      st[i][f] = strtol(sp + 1, &p, 10);
      p = strchr(p, '\n');
      if (p) p++;
    }
  }
}

static int node_online(int i) {
  char path[128];
  snprintf(path, sizeof path, "/sys/devices/system/node/node%d", i);
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* The numa_maps policy token of the VMA containing addr, from /proc/self/maps and numa_maps. */
static void policy_at(ulong addr, char *out, size_t n) {
  char *buf = big_buf;
  const size_t bufsz = sizeof big_buf;
  out[0] = 0;
  ulong vstart = 0;
  if (read_file("/proc/self/maps", buf, bufsz) > 0) {
    for (char *l = buf; l && *l;) {
      ulong a = strtoul(l, NULL, 16);
      char *dash = strchr(l, '-');
      ulong b = dash ? strtoul(dash + 1, NULL, 16) : 0;
      if (addr >= a && addr < b) {
        vstart = a;
        break;
      }
      l = strchr(l, '\n');
      if (l) l++;
    }
  }
  if (!vstart) return;
  if (read_file("/proc/self/numa_maps", buf, bufsz) <= 0) return;
  for (char *l = buf; l && *l;) {
    ulong a = strtoul(l, NULL, 16);
    char *nl = strchr(l, '\n');
    if (a == vstart) {
      char *sp = strchr(l, ' ');
      if (sp) {
        sp++;
        /* the policy token ends at " file=", " heap", " stack", " huge", " anon=", ... */
        size_t k = 0;
        const char *ends[] = {" file=", " heap", " stack", " huge", " anon=", " dirty=", " mapped=", " mapmax=",
                              " swapcache=", " active=", " writeback=", " N", " kernelpagesize_kB="};
        const char *end = nl ? nl : sp + strlen(sp);
        for (size_t e = 0; e < sizeof ends / sizeof ends[0]; e++) {
          char *f = strstr(sp, ends[e]);
          if (f && f < end) end = f;
        }
        k = (size_t)(end - sp);
        if (k >= n) k = n - 1;
        memcpy(out, sp, k);
        out[k] = 0;
      }
      return;
    }
    l = nl ? nl + 1 : NULL;
  }
}

/* The numastat counters of every node since the scenario's first step, as JSON. */
static long numastat_now[MAX_NODES + 1][6];

static void numastat_json(char *out, size_t n) {
  long (*st)[6] = numastat_now;
  static const char *names[] = {"numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node"};
  read_numastat(st);
  size_t k = (size_t)snprintf(out, n, "{\"ret\":0,\"errno\":null,\"out\":{");
  int first = 1;
  for (int i = 0; i <= max_node_id; i++) {
    if (!node_online(i)) continue;
    k += (size_t)snprintf(out + k, n - k, "%s\"%d\":{", first ? "" : ",", i);
    for (int f = 0; f < 6; f++)
      k += (size_t)snprintf(out + k, n - k, "%s\"%s\":%ld", f ? "," : "", names[f], st[i][f] - base_stat[i][f]);
    k += (size_t)snprintf(out + k, n - k, "}");
    first = 0;
  }
  snprintf(out + k, n - k, "}}");
}

/* Execute one step in the task; write the JSON result into out. */
static int exit_after_answer;
static void task_main(struct channel *ch, const char *name);

static void do_step(char *op, char **kv, int nkv, char *out, size_t n) {
  long ret = 0;
  int err = 0;
  char *extra = step_extra;
  const size_t extra_n = sizeof step_extra;
  extra[0] = 0;

  if (strcmp(op, "mmap") == 0) {
    const char *name = arg(kv, nkv, "name");
    ulong len = parse_u64(arg(kv, nkv, "len"));
    int prot = (int)parse_u64(arg(kv, nkv, "prot"));
    int flags = (int)parse_u64(arg(kv, nkv, "flags"));
    const char *a = arg(kv, nkv, "addr");
    void *hint = NULL;
    if (a && strcmp(a, "none") != 0) {
      hint = (void *)resolve_addr(a);
      flags |= MAP_FIXED_NOREPLACE;
    }
    void *p = mmap(hint, len, prot, flags, -1, 0);
    struct mapping *m = NULL;
    for (int i = 0; i < nmaps; i++)
      if (strcmp(maps[i].name, name) == 0) m = &maps[i];
    if (!m && nmaps < MAX_MAPS) m = &maps[nmaps++];
    if (m) {
      snprintf(m->name, sizeof m->name, "%s", name);
      m->valid = p != MAP_FAILED;
      m->start = (ulong)p;
      /* a MAP_HUGETLB (0x40000) mapping is as long as its 2 MiB pages */
      m->len = (flags & 0x40000) ? (len + (2UL << 20) - 1) & ~((2UL << 20) - 1) : (len + 4095) & ~4095UL;
    }
    if (p == MAP_FAILED) {
      ret = -1;
      err = errno;
    } else {
      ret = (long)p;
    }
  } else if (strcmp(op, "munmap") == 0) {
    ulong a = resolve_addr(arg(kv, nkv, "addr"));
    ulong l = resolve_len(arg(kv, nkv, "len"));
    ret = munmap((void *)a, l);
    if (ret < 0) err = errno;
  } else if (strcmp(op, "touch") == 0) {
    ulong a = resolve_addr(arg(kv, nkv, "addr"));
    ulong l = resolve_len(arg(kv, nkv, "len"));
    const char *acc = arg(kv, nkv, "access");
    int write = !acc || strcmp(acc, "w") == 0;
    if (l == 0) {
      ret = 0;
    } else {
      ulong first = a & ~4095UL;
      ulong last = (a + l - 1) & ~4095UL;
      static volatile long before;
      in_touch = 1;
      /* sigsetjmp and a first getrusage before counting: their own first-touch faults
         (the jump buffer, the stack) must not be counted */
      if (sigsetjmp(segv_jmp, 1) == 0) {
        before = minflt();
        before = minflt();
        for (ulong p = first;; p += 4096) {
          volatile char *c = (volatile char *)p;
          if (write) *c = 1;
          else (void)*c;
          if (p == last) break;
        }
        in_touch = 0;
        ret = minflt() - before;
      } else {
        in_touch = 0;
        ret = -1;
        err = EFAULT;
      }
    }
  } else if (strcmp(op, "mbind") == 0) {
    ulong maxnode = parse_u64(arg(kv, nkv, "maxnode"));
    ulong *tf;
    ulong *m = nodemask_arg(arg(kv, nkv, "nodes"), maxnode, &tf);
    ret = syscall(SYS_mbind, resolve_addr(arg(kv, nkv, "addr")), resolve_len(arg(kv, nkv, "len")),
                  parse_u64(arg(kv, nkv, "mode")), m, maxnode, (unsigned)parse_u64(arg(kv, nkv, "flags")));
    if (ret < 0) err = errno;
    free(tf);
  } else if (strcmp(op, "set_mempolicy") == 0) {
    ulong maxnode = parse_u64(arg(kv, nkv, "maxnode"));
    ulong *tf;
    ulong *m = nodemask_arg(arg(kv, nkv, "nodes"), maxnode, &tf);
    ret = syscall(SYS_set_mempolicy, (int)parse_u64(arg(kv, nkv, "mode")), m, maxnode);
    if (ret < 0) err = errno;
    free(tf);
  } else if (strcmp(op, "get_mempolicy") == 0) {
    ulong maxnode = parse_u64(arg(kv, nkv, "maxnode"));
    int with_mask = parse_u64(arg(kv, nkv, "nmask")) != 0;
    ulong flags = parse_u64(arg(kv, nkv, "flags"));
    int mode = -12345;
    size_t longs = (maxnode > 40000 ? 40000 : maxnode) / 64 + 2;
    if (longs < 20) longs = 20;
    ulong *mask = with_mask ? calloc(longs, sizeof(ulong)) : NULL;
    ret = syscall(SYS_get_mempolicy, &mode, mask, maxnode, resolve_addr(arg(kv, nkv, "addr")), flags);
    if (ret < 0) err = errno;
    if (ret == 0) {
      size_t k = 0;
      if (flags & 1) {
        k += (size_t)snprintf(extra + k, extra_n - k, "\"node\":%d", mode);
      } else {
        int base = mode & ~(0x8000 | 0x4000 | 0x2000);
        k += (size_t)snprintf(extra + k, extra_n - k, "\"mode\":\"%s\",\"mode_flags\":[", mode_name(base));
        int first = 1;
        if (mode & 0x8000) { k += (size_t)snprintf(extra + k, extra_n - k, "\"MPOL_F_STATIC_NODES\""); first = 0; }
        if (mode & 0x4000) { k += (size_t)snprintf(extra + k, extra_n - k, "%s\"MPOL_F_RELATIVE_NODES\"", first ? "" : ","); first = 0; }
        if (mode & 0x2000) { k += (size_t)snprintf(extra + k, extra_n - k, "%s\"MPOL_F_NUMA_BALANCING\"", first ? "" : ","); }
        k += (size_t)snprintf(extra + k, extra_n - k, "]");
      }
      if (mask) {
        char list[8192];
        ulong nbits = maxnode > 1 ? maxnode - 1 : 0;
        if (nbits > (ulong)MAX_NODES) nbits = MAX_NODES;
        nodes_to_list(mask, nbits, list, sizeof list);
        k += (size_t)snprintf(extra + k, extra_n - k, ",\"nodes\":\"%s\"", list);
      }
    }
    free(mask);
  } else if (strcmp(op, "set_mempolicy_home_node") == 0) {
    ret = syscall(SYS_set_mempolicy_home_node, resolve_addr(arg(kv, nkv, "addr")), resolve_len(arg(kv, nkv, "len")),
                  parse_u64(arg(kv, nkv, "home")), parse_u64(arg(kv, nkv, "flags")));
    if (ret < 0) err = errno;
  } else if (strcmp(op, "placement") == 0) {
    ulong a = resolve_addr(arg(kv, nkv, "addr"));
    ulong l = resolve_len(arg(kv, nkv, "len"));
    char pj[8192];
    pages_json(a & ~4095UL, ((a + l + 4095) & ~4095UL) - (a & ~4095UL), pj, sizeof pj);
    snprintf(extra, extra_n, "\"pages\":%s", pj);
  } else if (strcmp(op, "sched_setaffinity") == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)parse_u64(arg(kv, nkv, "cpu")), &set);
    ret = sched_setaffinity(0, sizeof set, &set);
    if (ret < 0) err = errno;
  } else if (strcmp(op, "sysfs_write") == 0) {
    char *path = arg(kv, nkv, "path");
    char *value = arg(kv, nkv, "value");
    pct_decode(path);
    pct_decode(value);
    int fd = open(path, O_WRONLY);
    if (fd < 0) {
      ret = -1;
      err = errno;
    } else {
      ret = write(fd, value, strlen(value));
      if (ret < 0) err = errno;
      close(fd);
    }
  } else if (strcmp(op, "cat") == 0) {
    char *path = arg(kv, nkv, "path");
    pct_decode(path);
    ssize_t r = read_file(path, big_buf, sizeof big_buf);
    if (r < 0) {
      ret = -1;
      err = (int)-r;
    } else {
      if (strcmp(path, "/proc/self/numa_maps") == 0) keep_scenario_lines(big_buf);
      json_str(step_js, sizeof step_js, big_buf);
      memcpy(extra, "\"text\":", 7);
      memcpy(extra + 7, step_js, strlen(step_js) + 1);
    }
  } else if (strcmp(op, "fork") == 0) {
    /* the child gets its own channel (an inherited memfd) and serves it from now on */
    static char child_name[64];
    snprintf(child_name, sizeof child_name, "%s", arg(kv, nkv, "child"));
    int cfd = atoi(arg(kv, nkv, "fd"));
    pid_t p = fork();
    if (p == 0) {
      struct channel *c2 = mmap(NULL, sizeof *c2, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
      if (c2 == MAP_FAILED) _exit(7);
      close(cfd);
      task_main(c2, child_name);
    }
    if (p < 0) {
      ret = -1;
      err = errno;
    } else {
      ret = p;
    }
  } else if (strcmp(op, "madvise") == 0) {
    ret = syscall(SYS_madvise, resolve_addr(arg(kv, nkv, "addr")), resolve_len(arg(kv, nkv, "len")),
                  (int)parse_u64(arg(kv, nkv, "advice")));
    if (ret < 0) err = errno;
  } else if (strcmp(op, "migrate_pages") == 0) {
    const char *pid_s = arg(kv, nkv, "pid");
    long pid = strcmp(pid_s, "self") == 0 ? 0 : strtol(pid_s, NULL, 10);
    ulong maxnode = parse_u64(arg(kv, nkv, "maxnode"));
    ulong *tf1, *tf2;
    ulong *from = nodemask_arg(arg(kv, nkv, "from"), maxnode, &tf1);
    ulong *to = nodemask_arg(arg(kv, nkv, "to"), maxnode, &tf2);
    ret = syscall(SYS_migrate_pages, pid, maxnode, from, to);
    if (ret < 0) err = errno;
    free(tf1);
    free(tf2);
  } else if (strcmp(op, "move_pages") == 0) {
    /* runs=<addr>,<count>,<node|q>;... : count pages from addr, each to node (q: query) */
    const char *pid_s = arg(kv, nkv, "pid");
    long pid = strcmp(pid_s, "self") == 0 ? 0 : strtol(pid_s, NULL, 10);
    int flags = (int)parse_u64(arg(kv, nkv, "flags"));
    int query = 0;
    ulong n = 0;
    for (char *r = strtok(arg(kv, nkv, "runs"), ";"); r && n < PAGES_BATCH; r = strtok(NULL, ";")) {
      char *c1 = strchr(r, ',');
      char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
      if (!c2) break;
      *c1 = 0;
      ulong base = resolve_addr(r);
      ulong count = parse_u64(c1 + 1);
      query = c2[1] == 'q';
      int node = query ? 0 : atoi(c2 + 1);
      for (ulong j = 0; j < count && n < PAGES_BATCH; j++, n++) {
        pj_ptrs[n] = (void *)(base + j * 4096);
        pj_nodes[n] = node;
        pj_status[n] = INT32_MIN; /* not written by the kernel */
      }
    }
    ret = syscall(SYS_move_pages, pid, n, pj_ptrs, query ? NULL : pj_nodes, pj_status, flags);
    if (ret < 0) err = errno;
    size_t k = (size_t)snprintf(extra, extra_n, "\"status\":[");
    for (ulong j = 0; j < n && k + 16 < extra_n; j++) {
      if (pj_status[j] == INT32_MIN) k += (size_t)snprintf(extra + k, extra_n - k, "%snull", j ? "," : "");
      else k += (size_t)snprintf(extra + k, extra_n - k, "%s%d", j ? "," : "", pj_status[j]);
    }
    snprintf(extra + k, extra_n - k, "]");
  } else if (strcmp(op, "write_file") == 0) {
    /*
     * pwrite() of len bytes at off, in pieces of big_buf (already faulted in, so that the
     * step allocates nothing but page cache): as one write would, an error after some
     * bytes were written returns the bytes written, and a short write ends it
     * (generic_perform_write(), generic_write_checks() at s_maxbytes).
     */
    char *path = arg(kv, nkv, "path");
    pct_decode(path);
    ulong len = parse_u64(arg(kv, nkv, "len"));
    ulong off = parse_u64(arg(kv, nkv, "off"));
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
      ret = -1;
      err = errno;
    } else {
      memset(big_buf, 0xa5, len < sizeof big_buf ? len : sizeof big_buf);
      ulong done = 0;
      while (done < len) {
        size_t chunk = len - done < sizeof big_buf ? len - done : sizeof big_buf;
        ssize_t w = pwrite(fd, big_buf, chunk, (off_t)(off + done));
        if (w < 0) {
          if (!done) err = errno;
          break;
        }
        done += (ulong)w;
        if ((size_t)w < chunk) break;
      }
      ret = err ? -1 : (long)done;
      close(fd);
    }
  } else if (strcmp(op, "read_file") == 0) {
    /*
     * pread() of len bytes (or to the end of the file) at off, after
     * posix_fadvise(POSIX_FADV_RANDOM): FMODE_RANDOM makes page_cache_sync_ra() read
     * only the pages asked for (force_page_cache_ra()), without readahead.
     */
    char *path = arg(kv, nkv, "path");
    pct_decode(path);
    const char *ls = arg(kv, nkv, "len");
    int whole = strcmp(ls, "file") == 0;
    ulong len = whole ? 0 : parse_u64(ls);
    ulong off = parse_u64(arg(kv, nkv, "off"));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ret = -1;
      err = errno;
    } else {
      posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
      ulong done = 0;
      for (;;) {
        size_t chunk = sizeof big_buf;
        if (!whole) {
          if (done >= len) break;
          if (len - done < chunk) chunk = len - done;
        }
        ssize_t r = pread(fd, big_buf, chunk, (off_t)(off + done));
        if (r < 0) {
          if (!done) err = errno;
          break;
        }
        if (r == 0) break;
        done += (ulong)r;
      }
      ret = err ? -1 : (long)done;
      close(fd);
    }
  } else if (strcmp(op, "sync") == 0) {
    sync();
    ret = 0;
  } else if (strcmp(op, "exit") == 0) {
    exit_after_answer = 1; /* once the answer is posted */
  } else {
    ret = -1;
    err = ENOSYS;
  }

  size_t k = (size_t)snprintf(out, n, "{\"ret\":%ld,\"errno\":", ret);
  if (err) k += (size_t)snprintf(out + k, n - k, "\"%s\"", errno_name(err));
  else k += (size_t)snprintf(out + k, n - k, "null");
  if (extra[0]) k += (size_t)snprintf(out + k, n - k, ",\"out\":{%s}", extra);
  snprintf(out + k, n - k, "}");
}

/* Report every mapping of the task: start, length, policy at the start, pages per node. */
static void report_maps(const char *task, char *out, size_t n) {
  size_t k = 0;
  out[0] = 0;
  for (int i = 0; i < nmaps; i++) {
    struct mapping *m = &maps[i];
    if (!m->valid) continue;
    int dup = 0;
    for (int j = i + 1; j < nmaps; j++)
      if (strcmp(maps[j].name, m->name) == 0) dup = 1;
    if (dup) continue;
    char pol[256], pj[8192], pjs[512];
    policy_at(m->start, pol, sizeof pol);
    if (!pol[0]) continue; /* unmapped */
    pages_json(m->start, m->len, pj, sizeof pj);
    json_str(pjs, sizeof pjs, pol);
    k += (size_t)snprintf(out + k, n - k, "@@M %d %s %s {\"start\":\"0x%lx\",\"length\":%lu,\"policy\":%s,\"pages\":%s}\n",
                          scen_index, task, m->name, m->start, m->len, pjs, pj);
  }
}

static void warm_statics(void);

/* Touch a stack range so that later steps do not fault it in. */
static void warm_stack(void) {
  volatile char pad[256 * 1024];
  for (size_t i = 0; i < sizeof pad; i += 4096) pad[i] = 0;
}

/* Fault in the static buffers a step may write. */
static void warm_statics(void) {
  memset(pj_ptrs, 0, sizeof pj_ptrs);
  memset(pj_status, 0, sizeof pj_status);
  memset(pj_nodes, 0, sizeof pj_nodes);
  memset(big_buf, 0, sizeof big_buf);
  memset(step_extra, 0, sizeof step_extra);
  memset(step_js, 0, sizeof step_js);
  /* the mapping table is written in place: a forked child keeps the parent's entries */
  for (size_t i = 0; i < sizeof maps; i += 4096) ((volatile char *)maps)[i] = ((volatile char *)maps)[i];
  /* read a few files once, so that their kernel-side first-use costs are paid now */
  read_file("/proc/self/maps", big_buf, sizeof big_buf);
  read_file("/proc/self/numa_maps", big_buf, sizeof big_buf);
}

/* The task process: wait for a command, execute it, answer. */
static void task_main(struct channel *ch, const char *name) {
  static char line[LINE];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  /* fault in everything a step uses before the first one: the channel, buffers, stack */
  for (size_t i = 0; i < sizeof ch->buf; i += 4096) ch->buf[i] = 0;
  memset(line, 0, sizeof line);
  warm_stack();
  warm_statics();
  int seen = ch->cmd_seq;
  ch->res_seq++; /* ready */
  futex(&ch->res_seq, FUTEX_WAKE, 1, NULL);
  for (;;) {
    while (ch->cmd_seq == seen) futex(&ch->cmd_seq, FUTEX_WAIT, seen, NULL);
    seen = ch->cmd_seq;
    size_t cl = strnlen(ch->buf, sizeof line - 1);
    memcpy(line, ch->buf, cl);
    line[cl] = 0;
    if (strncmp(line, "REPORT ", 7) == 0) {
      scen_index = atoi(line + 7);
      report_maps(name, ch->buf, sizeof ch->buf);
    } else {
      char *kv[64];
      int nkv = 0;
      char *op = strtok(line, " ");
      char *t;
      while ((t = strtok(NULL, " ")) && nkv < 64) kv[nkv++] = t;
      do_step(op, kv, nkv, ch->buf, sizeof ch->buf);
    }
    __sync_synchronize();
    ch->res_seq++;
    futex(&ch->res_seq, FUTEX_WAKE, 1, NULL);
    if (exit_after_answer) _exit(0);
  }
}

/* ------------------------------------------------------------------------------------ */
/* the coordinator                                                                       */

static int kmsg_fd = -1;

/*
 * Output of a scenario is kept in memory and written when the scenario ends: writing to
 * the console between steps could allocate (tty buffers) and show in numastat.
 */
static char outbuf[16 << 20];
static size_t outlen;

static void emit(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(outbuf + outlen, sizeof outbuf - outlen, fmt, ap);
  va_end(ap);
  if (n > 0) outlen += (size_t)n;
  if (outlen >= sizeof outbuf) outlen = sizeof outbuf - 1;
}

/* The kernel's last "Fallback order for Node N:" line of each node, and the answer with them. */
static char fallback_lines[MAX_NODES][512];
static char fallback_answer[65536];

static char numastat_buf[65536];

/* The coordinator's buffers are faulted in once, before any scenario. */
static void warm_coordinator(void) {
  memset(outbuf, 0, sizeof outbuf);
  memset(numastat_buf, 0, sizeof numastat_buf);
  memset(fallback_lines, 0, sizeof fallback_lines);
  memset(fallback_answer, 0, sizeof fallback_answer);
  memset(numastat_now, 0, sizeof numastat_now);
  memset(base_stat, 0, sizeof base_stat);
  volatile char pad[256 * 1024];
  for (size_t i = 0; i < sizeof pad; i += 4096) pad[i] = 0;
}

static void flush_out(void) {
  fwrite(outbuf, 1, outlen, stdout);
  fflush(stdout);
  outlen = 0;
}

/* ------------------------------------------------------------------------------------ */
/* files and memory counters (the coordinator's)                                         */

/* the mounted disk's directory ("D" line), empty without a disk */
static char files_dir[256];
/*
 * The files the scenario names ("F" lines): made before its first step, reported at its
 * end; with the pages its steps can bring into the page cache (the ranges its reads and
 * writes touch, with some margin), which is where a file larger than VEC_PAGES pages is
 * looked at.
 */
#define MAX_FILES 256
#define MAX_RANGES 65536
struct file_def {
  char name[72];
  int first_range, nranges;
};
static struct file_def file_defs[MAX_FILES];
static int nfiles;
static ulong range_pool[MAX_RANGES][2];
static int ranges_used;

/*
 * Finding where a file's page-cache pages are, without changing the page cache: mincore()
 * on a mapping of the file for the resident pages; then, through a window of WIN_PAGES
 * pages mapped over the part of the file that has resident pages, a read touch of each
 * resident page (a read fault on a cached page maps it, do_read_fault() and
 * filemap_map_pages(), allocating nothing) and move_pages() in query mode, which only sees
 * mapped pages.
 *
 * What it costs: mincore() takes a page for its buffer (__get_free_page(GFP_USER)) for
 * each call, one per file up to VEC_PAGES pages (one per range of a larger file), which
 * numastat counts (numa_hit and local_node on the measuring CPU's node); nothing else (the
 * window is unmapped a few pages at a time, see window_pages()). The window's page tables
 * were allocated once, before any scenario: it sits inside one 2 MiB region between two
 * other mappings, so unmapping it never frees its PTE table (free_pgd_range() keeps a
 * table that a neighbouring VMA's floor or ceiling shares); mincore() walks page tables
 * without allocating any. The window is mapped MADV_SEQUENTIAL: zap_pte_range() does not
 * call mark_page_accessed() for the young PTEs of a VM_SEQ_READ mapping, so measuring leaves
 * the pages' LRU state alone. The measuring process is the coordinator (root: mincore()
 * reports page-cache residency only to a process that could write the file,
 * can_do_mincore()), pinned to the lowest CPU while it measures, so that what it allocates
 * goes to a known node.
 */
#define WIN_PAGES 510
#define VEC_PAGES (1UL << 20)
static char *win;
static unsigned char mc_vec[VEC_PAGES];
static void *win_ptrs[WIN_PAGES];
static int win_status[WIN_PAGES];
static cpu_set_t coordinator_cpus;

static void setup_window(void) {
  /* the neighbours are readable and the idle window is not, so that they never merge:
     mapping the file over the window replaces one VMA, without splitting or merging */
  char *r = mmap(NULL, 4UL << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) die("mmap window: %s", strerror(errno));
  char *base = (char *)(((ulong)r + (2UL << 20) - 1) & ~((2UL << 20) - 1));
  win = base + 4096;
  /* a read fault maps the zero page: the window's page tables, no page and no anon_vma
     (so that a fork of the coordinator copies none of it) */
  (void)*(volatile char *)win;
  if (mmap(win, WIN_PAGES * 4096UL, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
    die("mmap window: %s", strerror(errno));
  memset(mc_vec, 0, sizeof mc_vec);
  memset(win_ptrs, 0, sizeof win_ptrs);
  memset(win_status, 0, sizeof win_status);
}

/* The coordinator on the lowest CPU (while it works on files), and back on all of them. */
static void pin_coordinator(int on) {
  if (!on) {
    sched_setaffinity(0, sizeof coordinator_cpus, &coordinator_cpus);
    return;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &coordinator_cpus)) {
      CPU_SET(c, &one);
      break;
    }
  sched_setaffinity(0, sizeof one, &one);
}

/* The resident pages of [first, first + c) of the file that mc_vec marks, per node. */
static void window_pages(int fd, ulong first, ulong c, const unsigned char *vec, long *count) {
  if (mmap(win, WIN_PAGES * 4096UL, PROT_READ, MAP_SHARED | MAP_FIXED, fd, (off_t)(first * 4096)) == MAP_FAILED)
    die("mmap window: %s", strerror(errno));
  madvise(win, WIN_PAGES * 4096UL, MADV_SEQUENTIAL);
  int n = 0;
  for (ulong i = 0; i < c; i++) {
    if (!(vec[i] & 1)) continue;
    (void)*(volatile char *)(win + i * 4096);
    win_ptrs[n++] = win + i * 4096;
  }
  if (n && syscall(SYS_move_pages, 0, n, win_ptrs, NULL, win_status, 0) == 0) {
    for (int i = 0; i < n; i++)
      if (win_status[i] >= 0 && win_status[i] < MAX_NODES) count[win_status[i]]++;
  }
  /* unmapped at most 7 pages at a time: zapping more fills the mmu_gather's on-stack batch
     (MMU_GATHER_BUNDLE) and takes a page for the next (tlb_next_batch()) */
  ulong from = 0;
  int mapped = 0;
  for (ulong i = 0; i < c; i++) {
    if (!(vec[i] & 1)) continue;
    if (mapped == 7) {
      madvise(win + from * 4096, (i - from) * 4096, MADV_DONTNEED);
      from = i;
      mapped = 0;
    }
    mapped++;
  }
  madvise(win + from * 4096, (c - from) * 4096, MADV_DONTNEED);
  /* fault-around (do_fault_around(), 16 pages) may have mapped cached pages past c */
  for (ulong i = c; i < c + 16 && i < WIN_PAGES; i += 7) {
    ulong l = c + 16 - i < 7 ? c + 16 - i : 7;
    if (i + l > WIN_PAGES) l = WIN_PAGES - i;
    madvise(win + i * 4096, l * 4096, MADV_DONTNEED);
  }
}

/* The resident pages of pages [from, to) of the file, per node. */
static int range_pages(int fd, ulong from, ulong to, long *count) {
  int mapped = 0;
  for (ulong base = from; base < to; base += VEC_PAGES) {
    ulong c = to - base < VEC_PAGES ? to - base : VEC_PAGES;
    void *m = mmap(NULL, c * 4096, PROT_READ, MAP_SHARED, fd, (off_t)(base * 4096));
    if (m == MAP_FAILED) die("mmap for mincore: %s", strerror(errno));
    int r = mincore(m, c * 4096, mc_vec);
    munmap(m, c * 4096);
    if (r < 0) die("mincore: %s", strerror(errno));
    for (ulong w = 0; w < c; w += WIN_PAGES) {
      ulong wc = c - w < WIN_PAGES ? c - w : WIN_PAGES;
      int any = 0;
      for (ulong i = 0; i < wc && !any; i++) any = mc_vec[w + i] & 1;
      if (any) {
        window_pages(fd, base + w, wc, mc_vec + w, count);
        mapped = 1;
      }
    }
  }
  return mapped;
}

/*
 * The page-cache pages of a file per node, and its size; -errno when it cannot be opened.
 * A file of up to VEC_PAGES pages is looked at whole, a larger one (mincore() would take
 * too long on a sparse file of terabytes) only where the scenario's steps could have
 * brought pages in (def's ranges).
 */
static int file_pages(const char *path, const struct file_def *def, long *size, long *count) {
  memset(count, 0, sizeof(long) * MAX_NODES);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat sb;
  if (fstat(fd, &sb) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  *size = (long)sb.st_size;
  ulong pages = ((ulong)sb.st_size + 4095) / 4096;
  int mapped = 0;
  if (pages <= VEC_PAGES || !def) {
    mapped = range_pages(fd, 0, pages, count);
  } else {
    for (int r = 0; r < def->nranges; r++) {
      ulong a = range_pool[def->first_range + r][0], b = range_pool[def->first_range + r][1];
      if (b > pages) b = pages;
      if (a < b) mapped |= range_pages(fd, a, b, count);
    }
  }
  if (mapped && mmap(win, WIN_PAGES * 4096UL, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
    die("mmap window: %s", strerror(errno));
  close(fd);
  return 0;
}

static long fp_count[MAX_NODES];
static char fp_answer[16384];

static void file_path(char *out, size_t n, const char *name) { snprintf(out, n, "%.200s/%.71s", files_dir, name); }

static const struct file_def *find_file(const char *name) {
  for (int i = 0; i < nfiles; i++)
    if (strcmp(file_defs[i].name, name) == 0) return &file_defs[i];
  return NULL;
}

/* The file_placement step (file=<name>): {"pages":{node:count}}, or ENOENT. */
static char *file_placement_answer(char *cmd) {
  char *p = strstr(cmd, "file=");
  char name[72], path[512];
  snprintf(name, sizeof name, "%s", p ? p + 5 : "");
  name[strcspn(name, " ")] = 0;
  file_path(path, sizeof path, name);
  long size = 0;
  pin_coordinator(1);
  int e = file_pages(path, find_file(name), &size, fp_count);
  pin_coordinator(0);
  if (e < 0) {
    snprintf(fp_answer, sizeof fp_answer, "{\"ret\":-1,\"errno\":\"%s\"}", errno_name(-e));
  } else {
    char pj[8192];
    counts_json(fp_count, pj, sizeof pj);
    snprintf(fp_answer, sizeof fp_answer, "{\"ret\":0,\"errno\":null,\"out\":{\"pages\":%s}}", pj);
  }
  return fp_answer;
}

/* The files of the scenario at its end: size and pages per node of each that exists. */
static void report_files(void) {
  if (!nfiles) return;
  pin_coordinator(1);
  for (int i = 0; i < nfiles; i++) {
    char path[512], pj[8192];
    long size = 0;
    file_path(path, sizeof path, file_defs[i].name);
    if (file_pages(path, &file_defs[i], &size, fp_count) < 0) continue;
    counts_json(fp_count, pj, sizeof pj);
    emit("@@L %d %s {\"size\":%ld,\"pages\":%s}\n", scen_index, file_defs[i].name, size, pj);
  }
  pin_coordinator(0);
}

/* Before a scenario: the files of the one before are removed (their page cache with them). */
static void remove_files(void) {
  for (int i = 0; i < nfiles; i++) {
    char path[512];
    file_path(path, sizeof path, file_defs[i].name);
    unlink(path);
  }
  nfiles = 0;
  ranges_used = 0;
}

/*
 * An "F" line, "F <name> <bytes|-> <ranges|->": the file is named, with the page ranges
 * ("first-end,...", end excluded) its steps can bring into the page cache, and made sparse
 * with its size unless the size is "-".
 */
static void scenario_file(const char *name, const char *size, const char *ranges) {
  if (!files_dir[0]) {
    emit("@@X %d the scenario has files but the guest has no disk\n", scen_index);
    return;
  }
  if (nfiles >= MAX_FILES) {
    emit("@@X %d more than %d files\n", scen_index, MAX_FILES);
    return;
  }
  struct file_def *def = &file_defs[nfiles++];
  snprintf(def->name, sizeof def->name, "%s", name);
  def->first_range = ranges_used;
  def->nranges = 0;
  for (const char *p = ranges; *p && strcmp(ranges, "-") != 0 && ranges_used < MAX_RANGES;) {
    char *e;
    ulong a = strtoul(p, &e, 10);
    if (*e != '-') break;
    ulong b = strtoul(e + 1, &e, 10);
    range_pool[ranges_used][0] = a;
    range_pool[ranges_used][1] = b;
    ranges_used++;
    def->nranges++;
    if (*e != ',') break;
    p = e + 1;
  }
  if (strcmp(size, "-") == 0) return;
  char path[512];
  file_path(path, sizeof path, name);
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0 || ftruncate(fd, (off_t)parse_u64(size)) < 0)
    emit("@@X %d file %s (%s bytes): %s\n", scen_index, name, size, strerror(errno));
  if (fd >= 0) close(fd);
}

/*
 * The disk: every task may create files in it (mode 0777, umask 0); one file written,
 * synced, read back, measured and removed, so that the block and inode bitmaps, the
 * buddy cache of mballoc (ext4_mb_load_buddy()), the directory block and the inode table
 * block are in the page cache before the first scenario, and the window's page tables
 * exist.
 */
static void setup_disk(const char *dir) {
  snprintf(files_dir, sizeof files_dir, "%.200s", dir);
  struct stat a, b;
  if (stat(dir, &a) < 0 || stat("/", &b) < 0 || a.st_dev == b.st_dev)
    die("the disk is not mounted at %s", dir);
  umask(0);
  chmod(dir, 0777);
  setup_window();
  char path[512];
  file_path(path, sizeof path, ".cdmsim-warm");
  int fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) die("open %s: %s", path, strerror(errno));
  memset(big_buf, 0xa5, 4096);
  if (pwrite(fd, big_buf, 4096, 0) != 4096 || fsync(fd) < 0) die("write %s: %s", path, strerror(errno));
  if (pread(fd, big_buf, 4096, 0) != 4096) die("read %s: %s", path, strerror(errno));
  close(fd);
  long size;
  file_pages(path, NULL, &size, fp_count);
  unlink(path);
  sync();
}

/*
 * The meminfo step: MemTotal, MemFree, FilePages, Dirty and AnonPages (kB) of every online
 * node, from /sys/devices/system/node/nodeN/meminfo (node_read_meminfo()). The files stay
 * open (re-reading allocates nothing); before reading, a write to /proc/sys/vm/stat_refresh
 * folds the per-CPU counter deltas into the node counters (vmstat_refresh()), which
 * otherwise lag by up to the stat threshold per CPU.
 */
static int meminfo_fd[MAX_NODES + 1];
static int stat_refresh_fd = -1;
static char meminfo_buf[65536];

static void open_meminfo(void) {
  char path[128];
  for (int i = 0; i <= max_node_id; i++) {
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", i);
    meminfo_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
  }
  stat_refresh_fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
}

static char *meminfo_answer(void) {
  static const char *fields[] = {"MemTotal", "MemFree", "FilePages", "Dirty", "AnonPages"};
  char buf[4096];
  if (stat_refresh_fd >= 0) pwrite(stat_refresh_fd, "1", 1, 0);
  char *out = meminfo_buf;
  const size_t n = sizeof meminfo_buf;
  size_t k = (size_t)snprintf(out, n, "{\"ret\":0,\"errno\":null,\"out\":{");
  int first = 1;
  for (int i = 0; i <= max_node_id; i++) {
    if (meminfo_fd[i] < 0) continue;
    ssize_t r = pread(meminfo_fd[i], buf, sizeof buf - 1, 0);
    if (r <= 0) continue;
    buf[r] = 0;
    k += (size_t)snprintf(out + k, n - k, "%s\"%d\":{", first ? "" : ",", i);
    first = 0;
    for (int f = 0; f < 5; f++) {
      long v = -1;
      /* "Node 0 MemFree:        123456 kB" */
      for (char *l = buf; l && *l;) {
        char *c = strchr(l, ':');
        char *nl = strchr(l, '\n');
        if (c && (!nl || c < nl)) {
          char *name = c;
          while (name > l && name[-1] != ' ') name--;
          if ((size_t)(c - name) == strlen(fields[f]) && strncmp(name, fields[f], (size_t)(c - name)) == 0) {
            v = strtol(c + 1, NULL, 10);
            break;
          }
        }
        l = nl ? nl + 1 : NULL;
      }
      k += (size_t)snprintf(out + k, n - k, "%s\"%s\":%ld", f ? "," : "", fields[f], v);
    }
    k += (size_t)snprintf(out + k, n - k, "}");
  }
  snprintf(out + k, n - k, "}}");
  return out;
}


/* Read new kernel log records; report OOM kills and fallback lines. */
static void emit(const char *fmt, ...);
static void drain_kmsg(int step, int report_fallback) {
  static char rec[8192];
  static char oom_constraint[64], oom_nodemask[256];
  for (;;) {
    ssize_t r = read(kmsg_fd, rec, sizeof rec - 1);
    if (r < 0) {
      if (errno == EPIPE) continue; /* overwritten records */
      break;
    }
    rec[r] = 0;
    char *msg = strchr(rec, ';');
    if (!msg) continue;
    msg++;
    char *nl = strchr(msg, '\n');
    if (nl) *nl = 0;
    if (strncmp(msg, "Fallback order for Node", 23) == 0) {
      int n = atoi(msg + 24);
      if (n >= 0 && n < MAX_NODES) snprintf(fallback_lines[n], sizeof fallback_lines[n], "%s", msg);
      if (report_fallback) emit("@@F %s\n", msg);
    }
    char *c = strstr(msg, "oom-kill:constraint=");
    if (c) {
      sscanf(c, "oom-kill:constraint=%63[^,]", oom_constraint);
      char *nm = strstr(c, "nodemask=");
      oom_nodemask[0] = 0;
      if (nm) {
        nm += 9;
        char *cs = strstr(nm, ",cpuset=");
        size_t l = cs ? (size_t)(cs - nm) : strlen(nm);
        if (l >= sizeof oom_nodemask) l = sizeof oom_nodemask - 1;
        memcpy(oom_nodemask, nm, l);
        oom_nodemask[l] = 0;
      }
    }
    char *k = strstr(msg, "Out of memory");
    char *kp = k ? strstr(k, "Killed process ") : NULL;
    if (kp) {
      int pid = atoi(kp + 15);
      const char *victim = "?";
      for (int i = 0; i < ntasks; i++)
        if (tasks[i].pid == pid || tasks[i].pid == -pid) victim = tasks[i].name;
      char nm[300];
      json_str(nm, sizeof nm, oom_nodemask);
      emit("@@O %d %d {\"victim\":\"%s\",\"pid\":%d,\"constraint\":\"%s\",\"nodemask\":%s}\n", scen_index, step,
             victim, pid, oom_constraint, nm);
    }
  }
  fflush(stdout);
}

static int find_task(const char *name) {
  for (int i = 0; i < ntasks; i++)
    if (strcmp(tasks[i].name, name) == 0) return i;
  return -1;
}

static void cg_path(char *out, size_t n, const char *cg) {
  if (strcmp(cg, "/") == 0) snprintf(out, n, "/sys/fs/cgroup");
  else snprintf(out, n, "/sys/fs/cgroup%s", cg);
}

/* Send a command to a task and wait for its answer; NULL when the task died. */
/* Whether the task's process has exited (or been killed); its memory is released by then. */
static int task_gone(struct task_def *t, int timeout_ms) {
  struct pollfd pfd = {t->pidfd, POLLIN, 0};
  if (poll(&pfd, 1, timeout_ms) <= 0) return 0;
  t->alive = 0;
  waitpid(t->pid, NULL, WNOHANG); /* reaps our own children; a forked child is its parent's */
  return 1;
}

static char *ask(struct task_def *t, const char *cmd) {
  struct channel *ch = t->ch;
  int want = ch->res_seq;
  snprintf(ch->buf, sizeof ch->buf, "%s", cmd);
  __sync_synchronize();
  ch->cmd_seq++;
  futex(&ch->cmd_seq, FUTEX_WAKE, 1, NULL);
  struct timespec ts = {0, 20 * 1000 * 1000};
  while (ch->res_seq == want) {
    futex(&ch->res_seq, FUTEX_WAIT, want, &ts);
    if (ch->res_seq != want) break;
    if (task_gone(t, 0)) return NULL;
  }
  __sync_synchronize();
  return ch->buf;
}

static void reap(void) {
  for (int i = 0; i < ntasks; i++)
    if (tasks[i].alive) task_gone(&tasks[i], 0);
}

/* Wait until a task that was just started answers ready; 0 when it died first. */
static int wait_ready(struct task_def *t) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  while (t->ch->res_seq == 0) {
    futex(&t->ch->res_seq, FUTEX_WAIT, 0, &ts);
    if (t->ch->res_seq == 0 && task_gone(t, 0)) return 0;
  }
  return 1;
}

/* A channel for each task of the scenario, before any task starts (children included). */
static void make_channel(struct task_def *t) {
  int fd = (int)syscall(SYS_memfd_create, "channel", 0);
  if (fd < 0 || ftruncate(fd, sizeof(struct channel)) < 0) die("memfd: %s", strerror(errno));
  struct channel *ch = mmap(NULL, sizeof *ch, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ch == MAP_FAILED) die("mmap channel: %s", strerror(errno));
  memset((void *)ch, 0, sizeof *ch);
  t->chfd = fd;
  t->ch = ch;
  t->pidfd = -1;
}

static void spawn_task(struct task_def *t) {
  int fd = t->chfd;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    /* a fresh program image, so that no page stays shared copy-on-write with the coordinator */
    char path[512], procs[600], me[32], fdarg[16];
    cg_path(path, sizeof path, t->cgroup);
    snprintf(procs, sizeof procs, "%s/cgroup.procs", path);
    snprintf(me, sizeof me, "%d", getpid());
    if (write_file(procs, me) < 0) _exit(3);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(t->cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0) _exit(4);
    write_file("/proc/self/oom_score_adj", "0");
    if (!t->priv) {
      if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) _exit(5);
    }
    snprintf(fdarg, sizeof fdarg, "%d", fd);
    char *argv[] = {"runner", "--task", fdarg, t->name, NULL};
    execv("/bin/runner", argv);
    _exit(6);
  }
  t->pid = pid;
  t->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (t->pidfd < 0) die("pidfd_open: %s", strerror(errno));
  t->alive = 1;
  if (!wait_ready(t)) {
    int status = 0;
    waitpid(pid, &status, 0);
    emit("@@X %d task %s could not start (exit %d)\n", scen_index, t->name,
         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
}

/* Start the scenario's tasks: channels for all, processes for those that no fork makes. */
static int tasks_started;
static void start_tasks(void) {
  if (tasks_started) return;
  tasks_started = 1;
  for (int i = 0; i < ntasks; i++) make_channel(&tasks[i]);
  for (int i = 0; i < ntasks; i++)
    if (!tasks[i].parent[0]) spawn_task(&tasks[i]);
  /* the tasks hold the memfds now (a parent passes its child's to the fork) */
  for (int i = 0; i < ntasks; i++) close(tasks[i].chfd);
}

static void enable_cpuset(const char *cg);
static char cgroups_made[64][256];
static int ncg;

/* The lowest CPU of a list such as "0-3,8" that contains `cpu`, or -1. */
static int cpu_in_list(const char *list, int cpu, int *lowest) {
  int found = 0;
  *lowest = -1;
  for (const char *p = list; *p;) {
    int a = (int)strtol(p, (char **)&p, 10), b = a;
    if (*p == '-') b = (int)strtol(p + 1, (char **)&p, 10);
    if (*lowest < 0 || a < *lowest) *lowest = a;
    if (cpu >= a && cpu <= b) found = 1;
    if (*p == ',') p++;
    else break;
  }
  return found;
}

/* The scenario keeps tasks pinned: to their CPU if their cpuset allows it, else to its lowest. */
static void keep_pinned(struct task_def *t) {
  char path[512], file[600], list[4096];
  cg_path(path, sizeof path, t->cgroup);
  snprintf(file, sizeof file, "%s/cpuset.cpus.effective", path);
  if (read_file(file, list, sizeof list) <= 0) return;
  int lowest;
  if (!cpu_in_list(list, t->cpu, &lowest) && lowest >= 0) t->cpu = lowest;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(t->cpu, &set);
  sched_setaffinity(t->pid, sizeof set, &set);
}

/* cgroup_create / cgroup_write / cgroup_attach: done by the coordinator, as root. */
static char *cgroup_op(struct task_def *t, char *cmd) {
  static char answer[256];
  char op[32], pathk[256], path[512], file[600];
  char *kv[8];
  int nkv = 0;
  sscanf(cmd, "%31s", op);
  for (char *p = strtok(cmd + strlen(op), " "); p && nkv < 8; p = strtok(NULL, " ")) kv[nkv++] = p;
  snprintf(pathk, sizeof pathk, "%s", arg(kv, nkv, "path"));
  cg_path(path, sizeof path, pathk);
  int err = 0;
  if (strcmp(op, "cgroup_create") == 0) {
    char parent[256];
    snprintf(parent, sizeof parent, "%s", pathk);
    char *slash = strrchr(parent, '/');
    if (slash == parent) parent[1] = 0;
    else if (slash) *slash = 0;
    enable_cpuset(parent);
    if (mkdir(path, 0755) < 0) err = errno;
    else if (ncg < 64) snprintf(cgroups_made[ncg++], 256, "%s", pathk);
  } else if (strcmp(op, "cgroup_write") == 0) {
    char *value = arg(kv, nkv, "value");
    pct_decode(value);
    snprintf(file, sizeof file, "%s/%s", path, arg(kv, nkv, "file"));
    /* as echo writes it: the value and a newline (kernfs strips it) */
    char line[4200];
    snprintf(line, sizeof line, "%s\n", value);
    int e = write_file(file, line);
    if (e < 0) err = -e;
    /* a cpuset.cpus write resets the affinity of the tasks below */
    for (int i = 0; i < ntasks; i++)
      if (tasks[i].alive) keep_pinned(&tasks[i]);
  } else if (strcmp(op, "cgroup_attach") == 0) {
    char me[32];
    snprintf(me, sizeof me, "%d", t->pid);
    snprintf(file, sizeof file, "%s/cgroup.procs", path);
    int e = write_file(file, me);
    if (e < 0) err = -e;
    else {
      snprintf(t->cgroup, sizeof t->cgroup, "%s", pathk);
      keep_pinned(t);
    }
  } else {
    err = ENOSYS;
  }
  if (err) snprintf(answer, sizeof answer, "{\"ret\":-1,\"errno\":\"%s\"}", errno_name(err));
  else snprintf(answer, sizeof answer, "{\"ret\":0,\"errno\":null}");
  return answer;
}

/* The memory blocks of a node, ascending (the memoryN links in its sysfs directory). */
static int node_blocks(int node, int *blocks, int max) {
  char path[128];
  int n = 0;
  snprintf(path, sizeof path, "/sys/devices/system/node/node%d", node);
  DIR *d = opendir(path);
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max)
    if (strncmp(e->d_name, "memory", 6) == 0 && isdigit((unsigned char)e->d_name[6])) blocks[n++] = atoi(e->d_name + 6);
  closedir(d);
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && blocks[j - 1] > blocks[j]; j--) {
      int t = blocks[j];
      blocks[j] = blocks[j - 1];
      blocks[j - 1] = t;
    }
  return n;
}

/*
 * memory_offline / memory_online: every block of the node, in order, by its state file, as
 * root from the coordinator. An offline that cannot move its pages retries for ever in
 * Linux: the writer is stopped after 10 s and EBUSY reported. Then wait for the cpuset
 * hotplug work (the root's effective mems follow N_MEMORY).
 */
static char *memory_op(char *cmd) {
  static char answer[128];
  int online = strncmp(cmd, "memory_online", 13) == 0;
  int node = atoi(strstr(cmd, "node=") + 5);
  const char *to = "offline";
  if (online) to = strstr(cmd, "zone=normal") ? "online_kernel" : "online_movable";
  int blocks[4096];
  int nb = node_blocks(node, blocks, 4096);
  int err = 0;
  pid_t w = fork();
  if (w == 0) {
    for (int i = 0; i < nb; i++) {
      char file[128], state[32];
      snprintf(file, sizeof file, "/sys/devices/system/memory/memory%d/state", blocks[i]);
      if (read_file(file, state, sizeof state) > 0 && strncmp(state, online ? "online" : "offline", online ? 6 : 7) == 0)
        continue;
      int e = write_file(file, to);
      if (e < 0) _exit(-e);
    }
    _exit(0);
  }
  int status = 0;
  for (int ms = 0;; ms += 10) {
    if (waitpid(w, &status, WNOHANG) == w) {
      err = WIFEXITED(status) ? WEXITSTATUS(status) : EBUSY;
      break;
    }
    if (ms >= 10000) {
      kill(w, SIGKILL);
      waitpid(w, &status, 0);
      err = EBUSY;
      break;
    }
    usleep(10 * 1000);
  }
  for (int ms = 0; ms < 3000; ms += 10) {
    char a[4096], b[4096];
    if (read_file("/sys/devices/system/node/has_memory", a, sizeof a) > 0 &&
        read_file("/sys/fs/cgroup/cpuset.mems.effective", b, sizeof b) > 0 && strcmp(a, b) == 0)
      break;
    usleep(10 * 1000);
  }
  if (err) snprintf(answer, sizeof answer, "{\"ret\":-1,\"errno\":\"%s\"}", errno_name(err));
  else snprintf(answer, sizeof answer, "{\"ret\":0,\"errno\":null}");
  return answer;
}

/* The fallback_order step: the lines the kernel printed last (build_all_zonelists runs again on hotplug). */
static char *fallback_order_answer(int step) {
  drain_kmsg(step, 0);
  char *fb = fallback_answer;
  const size_t fbn = sizeof fallback_answer;
  size_t k = (size_t)snprintf(fb, fbn, "{\"ret\":0,\"errno\":null,\"out\":{\"lines\":[");
  int first = 1;
  for (int n = 0; n < MAX_NODES && k + 600 < fbn; n++) {
    if (!fallback_lines[n][0]) continue;
    char js[600];
    json_str(js, sizeof js, fallback_lines[n]);
    k += (size_t)snprintf(fb + k, fbn - k, "%s%s", first ? "" : ",", js);
    first = 0;
  }
  snprintf(fb + k, fbn - k, "]}}");
  return fb;
}

/* A fork step: the parent forks; the child serves the channel prepared for it. */
static char *ask_fork(struct task_def *parent, const char *child_name) {
  int ci = find_task(child_name);
  if (ci < 0) die("unknown task %s", child_name);
  struct task_def *c = &tasks[ci];
  char cmd[256];
  snprintf(cmd, sizeof cmd, "fork child=%.63s fd=%d", c->name, c->chfd);
  char *answer = ask(parent, cmd);
  if (!answer) return NULL;
  long pid = 0;
  sscanf(answer, "{\"ret\":%ld", &pid);
  if (pid > 0) {
    c->pid = (pid_t)pid;
    c->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (c->pidfd < 0) die("pidfd_open: %s", strerror(errno));
    c->alive = 1;
    wait_ready(c);
  }
  return answer;
}

static void end_scenario(void) {
  /* report mappings of the tasks still alive, then stop them */
  for (int i = 0; i < ntasks; i++) {
    struct task_def *t = &tasks[i];
    if (!t->alive) continue;
    char cmd[32];
    snprintf(cmd, sizeof cmd, "REPORT %d", scen_index);
    char *a = ask(t, cmd);
    if (a) emit("%s", a);
  }
  report_files();
  for (int i = 0; i < ntasks; i++) {
    struct task_def *t = &tasks[i];
    if (t->alive) {
      kill(t->pid, SIGKILL);
      task_gone(t, 10000);
    }
    if (t->pid > 0) waitpid(t->pid, NULL, WNOHANG);
    if (t->pidfd >= 0) close(t->pidfd);
    t->alive = 0;
    munmap((void *)t->ch, sizeof *t->ch);
  }
  ntasks = 0;
  tasks_started = 0;
  emit("@@E %d\n", scen_index);
  flush_out();
}

static void remove_cgroups(void) {
  for (int i = ncg - 1; i >= 0; i--) {
    char path[512];
    cg_path(path, sizeof path, cgroups_made[i]);
    rmdir(path);
  }
  ncg = 0;
}

static void enable_cpuset(const char *cg) {
  char path[512], ctl[600];
  cg_path(path, sizeof path, cg);
  snprintf(ctl, sizeof ctl, "%s/cgroup.subtree_control", path);
  write_file(ctl, "+cpuset");
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--task") == 0) {
    int fd = atoi(argv[2]);
    struct channel *ch = mmap(NULL, sizeof *ch, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ch == MAP_FAILED) _exit(7);
    close(fd);
    for (int i = 0; i < MAX_NODES; i++)
      if (node_online(i)) max_node_id = i;
    task_main(ch, argv[3]);
  }
  if (argc < 2) die("usage: runner PROGRAM");
  setvbuf(stdout, NULL, _IOLBF, 0);
  write_file("/proc/self/oom_score_adj", "-1000");
  for (int i = 0; i < MAX_NODES; i++)
    if (node_online(i)) max_node_id = i;

  /*
   * A program that uses the disk or meminfo steps (the first line is "D", or a step is
   * meminfo): the coordinator faults in its buffers on the lowest CPU, so that its memory
   * is on a known node in a node's meminfo; and the meminfo files are opened and read once
   * now (their buffers).
   */
  sched_getaffinity(0, sizeof coordinator_cpus, &coordinator_cpus);
  int uses_disk = 0, uses_meminfo = 0;
  {
    FILE *pf = fopen(argv[1], "r");
    static char pl[LINE];
    for (int first = 1; pf && !uses_meminfo && fgets(pl, sizeof pl, pf); first = 0) {
      pl[strcspn(pl, "\n")] = 0;
      size_t l = strlen(pl);
      if (first && pl[0] == 'D') uses_disk = 1;
      uses_meminfo = pl[0] == 'P' && l > 8 && strcmp(pl + l - 8, " meminfo") == 0;
    }
    if (pf) fclose(pf);
  }
  for (int i = 0; i <= MAX_NODES; i++) meminfo_fd[i] = -1;
  if (uses_disk || uses_meminfo) pin_coordinator(1);
  warm_coordinator();
  if (uses_meminfo) {
    open_meminfo();
    meminfo_answer();
  }
  if (uses_disk || uses_meminfo) pin_coordinator(0);
  {
    static long warm[MAX_NODES + 1][6];
    read_numastat(warm);
    read_numastat(warm);
    read_numastat(base_stat);
  }
  kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
  if (kmsg_fd < 0) die("open /dev/kmsg: %s", strerror(errno));
  drain_kmsg(-1, 1);
  flush_out();

  {
    char buf[4096], js[8192];
    size_t k = (size_t)snprintf(js, sizeof js, "{");
    const char *files[] = {"possible", "online", "has_cpu", "has_memory", "has_normal_memory"};
    for (int i = 0; i < 5; i++) {
      char path[128];
      snprintf(path, sizeof path, "/sys/devices/system/node/%s", files[i]);
      if (read_file(path, buf, sizeof buf) < 0) buf[0] = 0;
      buf[strcspn(buf, "\n")] = 0;
      k += (size_t)snprintf(js + k, sizeof js - k, "%s\"%s\":\"%s\"", i ? "," : "", files[i], buf);
    }
    for (int n = 0; n <= max_node_id; n++) {
      char path[128];
      snprintf(path, sizeof path, "/sys/devices/system/node/node%d/distance", n);
      if (read_file(path, buf, sizeof buf) < 0) continue;
      buf[strcspn(buf, "\n")] = 0;
      k += (size_t)snprintf(js + k, sizeof js - k, ",\"node%d_distance\":\"%s\"", n, buf);
      snprintf(path, sizeof path, "/sys/devices/system/node/node%d/cpulist", n);
      if (read_file(path, buf, sizeof buf) < 0) buf[0] = 0;
      buf[strcspn(buf, "\n")] = 0;
      k += (size_t)snprintf(js + k, sizeof js - k, ",\"node%d_cpus\":\"%s\"", n, buf[0] ? buf : "-");
    }
    snprintf(js + k, sizeof js - k, "}");
    printf("@@N %s\n", js);
  }

  FILE *f = fopen(argv[1], "r");
  if (!f) die("open %s: %s", argv[1], strerror(errno));
  static char line[LINE];
  int in_scenario = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!line[0]) continue;
    char kind = line[0];
    if (kind == 'S') {
      scen_index = atoi(line + 2);
      ntasks = 0;
      in_scenario = 1;
      printf("@@S %d\n", scen_index);
      if (files_dir[0]) {
        pin_coordinator(1);
        remove_files();
        pin_coordinator(0);
      }
      enable_cpuset("/");
    } else if (kind == 'C') {
      char cg[256], cpus[4096], mems[4096];
      if (sscanf(line + 2, "%255s %4095s %4095s", cg, cpus, mems) != 3) die("bad C line");
      /* the parent distributes the cpuset controller to its children */
      char parent[256];
      snprintf(parent, sizeof parent, "%s", cg);
      char *slash = strrchr(parent, '/');
      if (slash && slash != parent) {
        *slash = 0;
        enable_cpuset(parent);
      }
      char path[512], file[600];
      cg_path(path, sizeof path, cg);
      if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        printf("@@X %d mkdir %s: %s\n", scen_index, cg, strerror(errno));
      } else if (ncg < 64) {
        snprintf(cgroups_made[ncg++], 256, "%s", cg);
      }
      if (strcmp(cpus, "-") != 0) {
        snprintf(file, sizeof file, "%s/cpuset.cpus", path);
        int e = write_file(file, cpus);
        if (e < 0) printf("@@X %d %s cpuset.cpus %s: %s\n", scen_index, cg, cpus, strerror(-e));
      }
      if (strcmp(mems, "-") != 0) {
        snprintf(file, sizeof file, "%s/cpuset.mems", path);
        int e = write_file(file, mems);
        if (e < 0) printf("@@X %d %s cpuset.mems %s: %s\n", scen_index, cg, mems, strerror(-e));
      }
    } else if (kind == 'O') {
      /* memory of the scenario's machine that is offline at boot */
      char cmd[64];
      snprintf(cmd, sizeof cmd, "memory_offline node=%d", atoi(line + 2));
      const char *a = memory_op(cmd);
      if (!strstr(a, "\"errno\":null")) printf("@@X %d offline node %d: %s\n", scen_index, atoi(line + 2), a);
    } else if (kind == 'D') {
      pin_coordinator(1);
      setup_disk(line + 2);
      pin_coordinator(0);
    } else if (kind == 'F') {
      static char fname[72], fsize[32], franges[LINE];
      if (sscanf(line + 2, "%71s %31s %65535s", fname, fsize, franges) != 3) die("bad F line");
      pin_coordinator(1);
      scenario_file(fname, fsize, franges);
      pin_coordinator(0);
    } else if (kind == 'T') {
      if (ntasks >= MAX_TASKS) die("too many tasks");
      struct task_def *t = &tasks[ntasks++];
      memset(t, 0, sizeof *t);
      if (sscanf(line + 2, "%63s %255s %d %d %63s", t->name, t->cgroup, &t->cpu, &t->priv, t->parent) < 4)
        die("bad T line");
    } else if (kind == 'P') {
      if (!in_scenario) continue;
      start_tasks();
      /* fallback_order is the coordinator's: it neither waits for the tasks nor counts as the first step */
      {
        int fstep;
        char ftask[64], fcmd[64];
        if (sscanf(line + 2, "%d %63s %63s", &fstep, ftask, fcmd) == 3 && strcmp(fcmd, "fallback_order") == 0) {
          emit("@@R %d %d %s\n", scen_index, fstep, fallback_order_answer(fstep));
          continue;
        }
      }
      /* the first step: take the numastat baseline and drop earlier log records */
      static int last_base = -1;
      if (last_base != scen_index) {
        drain_kmsg(-1, 0);
        /* the scenario's files made, nothing dirty */
        if (files_dir[0]) {
          pin_coordinator(1);
          sync();
          pin_coordinator(0);
        }
        /* let the tasks settle (they finished starting when they answered ready) */
        usleep(100 * 1000);
        read_numastat(base_stat);
        last_base = scen_index;
      }
      char *rest = line + 2;
      int step = atoi(rest);
      rest = strchr(rest, ' ');
      if (!rest) continue;
      rest++;
      char tname[64];
      sscanf(rest, "%63s", tname);
      char *cmd = strchr(rest, ' ');
      if (!cmd) continue;
      cmd++;
      int ti = find_task(tname);
      if (ti < 0) die("unknown task %s", tname);
      struct task_def *t = &tasks[ti];
      reap();
      if (!t->alive) continue; /* skipped: the host knows */
      /* numastat is read by the coordinator, which holds the scenario's baseline */
      char *answer = NULL;
      if (strcmp(cmd, "numastat") == 0) {
        numastat_json(numastat_buf, sizeof numastat_buf);
        answer = numastat_buf;
      } else if (strcmp(cmd, "meminfo") == 0) {
        answer = meminfo_answer();
      } else if (strncmp(cmd, "file_placement ", 15) == 0) {
        answer = file_placement_answer(cmd);
      } else if (strncmp(cmd, "fork child=", 11) == 0) {
        answer = ask_fork(t, cmd + 11);
      } else if (strncmp(cmd, "cgroup_", 7) == 0) {
        answer = cgroup_op(t, cmd);
      } else if (strncmp(cmd, "memory_o", 8) == 0) {
        answer = memory_op(cmd);
      } else if (strstr(cmd, " pid=t:")) {
        /* a task named as pid: its real pid, or one no process has when it is gone */
        static char with_pid[LINE];
        char *p = strstr(cmd, " pid=t:");
        char name[64];
        sscanf(p + 7, "%63[^ ]", name);
        int ti2 = find_task(name);
        long real = ti2 >= 0 && tasks[ti2].alive ? tasks[ti2].pid : -1;
        snprintf(with_pid, sizeof with_pid, "%.*s pid=%ld%s", (int)(p - cmd), cmd, real, p + 7 + strlen(name));
        answer = ask(t, with_pid);
      } else {
        answer = ask(t, cmd);
        /* exit: the step is done when the process and its memory are gone */
        if (answer && strcmp(cmd, "exit") == 0) task_gone(t, 10000);
        /* the coordinator follows the task's CPU (cpuset changes keep it pinned there) */
        if (answer && strncmp(cmd, "sched_setaffinity cpu=", 22) == 0 && strncmp(answer, "{\"ret\":0,", 9) == 0)
          t->cpu = atoi(cmd + 22);
      }
      if (answer) {
        emit("@@R %d %d %s\n", scen_index, step, answer);
      } else {
        emit("@@K %d %d\n", scen_index, step);
      }
      drain_kmsg(step, 0);
      reap();
    } else if (kind == 'E') {
      start_tasks();
      drain_kmsg(-1, 0);
      end_scenario();
      remove_cgroups();
      in_scenario = 0;
    }
  }
  fflush(stdout);
  return 0;
}
