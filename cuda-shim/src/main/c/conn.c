#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire.h"

/* Recursive: spw_unsupported may be reached from a call that already holds it. */
pthread_mutex_t spw_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

int spw_device_count;
struct spw_device spw_devices[SPW_MAX_DEVICES];

static int sock = -1;
static uint8_t *sbuf;
static size_t slen, scap;
static size_t msg_start = (size_t)-1;
static uint8_t *rbuf;
static size_t rcap;

static int shm_fd = -1;
static uint8_t *shm;
static size_t shm_bytes;
static size_t shm_head;

static uint64_t va_base, va_bytes;

/* 16 contexts of 256 GiB each: more than any card, and far below the 128 TiB of user space. */
#define VA_BYTES (16ULL << 38)
/* The least address space worth running with: more than any card's memory. */
#define MIN_VA_BYTES (1ULL << 36)
#define SEND_FLUSH_BYTES (1u << 20)
#define DEFAULT_SHM_BYTES (64u << 20)

static int trace_on = -1;

int spw_tracing(void) {
  if (trace_on < 0) {
    const char *v = getenv("SPILLWAY_SHIM_LOG");
    trace_on = v != NULL && *v != '\0' && strcmp(v, "0") != 0;
  }
  return trace_on;
}

void spw_trace(const char *fmt, ...) {
  if (!spw_tracing()) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  fputs("spillway-shim: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void spw_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("spillway-shim: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Names already reported; a linear list is enough: a program makes few distinct unsupported calls. */
static const char *reported[512];
static unsigned reported_n;

void spw_unsupported(const char *name) {
  pthread_mutex_lock(&spw_lock);
  for (unsigned i = 0; i < reported_n; i++) {
    if (reported[i] == name || strcmp(reported[i], name) == 0) {
      pthread_mutex_unlock(&spw_lock);
      return;
    }
  }
  if (reported_n < sizeof reported / sizeof reported[0]) {
    reported[reported_n++] = name;
  }
  spw_warn("%s is not supported: returning CUDA_ERROR_NOT_SUPPORTED", name);
  if (sock >= 0) {
    char line[256];
    int n = snprintf(line, sizeof line, "unsupported call %s returned CUDA_ERROR_NOT_SUPPORTED", name);
    if (n > 0) {
      spw_begin(SPW_LOG);
      spw_put32((uint32_t)n);
      spw_put(line, (size_t)n);
      spw_end();
      spw_flush();
    }
  }
  pthread_mutex_unlock(&spw_lock);
}

static void ensure(size_t more) {
  if (slen + more <= scap) {
    return;
  }
  size_t cap = scap ? scap : 64 * 1024;
  while (cap < slen + more) {
    cap *= 2;
  }
  uint8_t *n = realloc(sbuf, cap);
  if (n == NULL) {
    spw_warn("out of host memory for a %zu-byte request", slen + more);
    abort();
  }
  sbuf = n;
  scap = cap;
}

void spw_begin(uint32_t op) {
  ensure(8);
  msg_start = slen;
  slen += 4;
  spw_put32(op);
}

void spw_put(const void *data, size_t len) {
  ensure(len);
  memcpy(sbuf + slen, data, len);
  slen += len;
}

void spw_put32(uint32_t v) { spw_put(&v, 4); }
void spw_put64(uint64_t v) { spw_put(&v, 8); }

void spw_end(void) {
  uint32_t len = (uint32_t)(slen - msg_start - 4);
  memcpy(sbuf + msg_start, &len, 4);
  msg_start = (size_t)-1;
  if (slen >= SEND_FLUSH_BYTES) {
    spw_flush();
  }
}

static int write_all(const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int read_all(uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = recv(sock, p, n, 0);
    if (r < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    if (r == 0) {
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int broken;

CUresult spw_flush(void) {
  if (broken || sock < 0) {
    return CUDA_ERROR_DEINITIALIZED;
  }
  if (slen > 0 && write_all(sbuf, slen) != 0) {
    spw_warn("lost the agent connection: %s", strerror(errno));
    broken = 1;
    return CUDA_ERROR_DEINITIALIZED;
  }
  slen = 0;
  return CUDA_SUCCESS;
}

CUresult spw_call(const uint8_t **payload, size_t *len) {
  CUresult r = spw_flush();
  if (r != CUDA_SUCCESS) {
    return r;
  }
  uint32_t hdr[2];
  if (read_all((uint8_t *)hdr, 8) != 0) {
    spw_warn("lost the agent connection while waiting for a reply");
    broken = 1;
    return CUDA_ERROR_DEINITIALIZED;
  }
  size_t body = hdr[0] - 4;
  if (body > rcap) {
    uint8_t *n = realloc(rbuf, body);
    if (n == NULL) {
      abort();
    }
    rbuf = n;
    rcap = body;
  }
  if (body > 0 && read_all(rbuf, body) != 0) {
    broken = 1;
    return CUDA_ERROR_DEINITIALIZED;
  }
  /* Every earlier request has been read, so the shared memory is free again. */
  shm_head = 0;
  CUresult status = (CUresult)hdr[1];
  if (status != CUDA_SUCCESS) {
    spw_trace("agent: error %d: %.*s", status, (int)body, (const char *)rbuf);
    if (status != CUDA_ERROR_NOT_READY && body > 0) {
      spw_warn("%.*s", (int)body, (const char *)rbuf);
    }
  }
  if (payload != NULL) {
    *payload = rbuf;
  }
  if (len != NULL) {
    *len = body;
  }
  return status;
}

size_t spw_shm_capacity(void) { return shm_bytes; }
uint8_t *spw_shm_at(uint64_t offset) { return shm + offset; }
uint64_t spw_va_base(void) { return va_base; }
uint64_t spw_va_bytes(void) { return va_bytes; }

uint8_t *spw_shm_reserve(size_t len, uint64_t *offset) {
  if (len > shm_bytes) {
    return NULL;
  }
  if (shm_head + len > shm_bytes) {
    spw_begin(SPW_FENCE);
    spw_end();
    if (spw_call(NULL, NULL) != CUDA_SUCCESS) {
      return NULL;
    }
  }
  *offset = shm_head;
  uint8_t *p = shm + shm_head;
  shm_head += (len + 63) & ~(size_t)63;
  return p;
}

static size_t env_size(const char *name, size_t def) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') {
    return def;
  }
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end != '\0' || n < (1u << 20)) {
    spw_warn("%s=%s is invalid: expected a byte count of at least 1048576; using %zu", name, v, def);
    return def;
  }
  return (size_t)n;
}

CUresult spw_conn_open(void) {
  if (sock >= 0) {
    return broken ? CUDA_ERROR_DEINITIALIZED : CUDA_SUCCESS;
  }
  const char *path = getenv("SPILLWAY_AGENT_SOCKET");
  char def[108];
  if (path == NULL || *path == '\0') {
    snprintf(def, sizeof def, "/tmp/spillway-agent-%u.sock", (unsigned)getuid());
    path = def;
  }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    spw_warn("SPILLWAY_AGENT_SOCKET=%s is too long for a Unix socket path", path);
    return CUDA_ERROR_NO_DEVICE;
  }
  strcpy(addr.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    spw_warn("cannot reach the spillway agent at %s (%s): no device; start one with `spillway agent` "
             "or run the program with `spillway run`",
             path, strerror(errno));
    if (s >= 0) {
      close(s);
    }
    return CUDA_ERROR_NO_DEVICE;
  }
  shm_bytes = env_size("SPILLWAY_SHM_BYTES", DEFAULT_SHM_BYTES);
  shm_fd = memfd_create("spillway-shim", MFD_CLOEXEC);
  if (shm_fd < 0 || ftruncate(shm_fd, (off_t)shm_bytes) != 0) {
    spw_warn("cannot create the shared memory: %s", strerror(errno));
    close(s);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  shm = mmap(NULL, shm_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
  if (shm == MAP_FAILED) {
    spw_warn("cannot map the shared memory: %s", strerror(errno));
    close(s);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  /* As much address space as the process may map, from VA_BYTES down to MIN_VA_BYTES: a sanitizer's
   * shadow layout or an address-space rlimit can refuse the largest reservation. The agent hands out
   * device pointers inside whatever was reserved. */
  size_t reserve = VA_BYTES;
  void *va = MAP_FAILED;
  while (reserve >= MIN_VA_BYTES) {
    va = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (va != MAP_FAILED) {
      break;
    }
    reserve /= 2;
  }
  if (va == MAP_FAILED) {
    spw_warn("cannot reserve even %llu bytes of address space for device pointers: %s",
             (unsigned long long)MIN_VA_BYTES, strerror(errno));
    close(s);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  /* Device pointers are 64 KiB-aligned like the driver's, so a null pointer is never one. */
  va_base = ((uint64_t)(uintptr_t)va + 0xffff) & ~0xffffULL;
  va_bytes = reserve - (va_base - (uint64_t)(uintptr_t)va);
  sock = s;
  const char *slice = getenv("SPILLWAY_SLICE");
  if (slice == NULL) {
    slice = "";
  }
  spw_begin(SPW_HELLO);
  spw_put32(SPW_PROTOCOL_VERSION);
  spw_put32((uint32_t)getpid());
  spw_put32((uint32_t)shm_fd);
  spw_put32(0);
  spw_put64(shm_bytes);
  spw_put64(va_base);
  spw_put64(va_bytes);
  spw_put32((uint32_t)strlen(slice));
  spw_put(slice, strlen(slice));
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r != CUDA_SUCCESS) {
    broken = 1;
    return r;
  }
  const uint8_t *end = p + n;
  uint32_t count;
  memcpy(&count, p, 4);
  p += 4;
  if (count > SPW_MAX_DEVICES) {
    count = SPW_MAX_DEVICES;
  }
  for (uint32_t d = 0; d < count && p + 256 + 16 + 12 <= end; d++) {
    struct spw_device *dev = &spw_devices[d];
    memcpy(dev->name, p, 256);
    dev->name[255] = '\0';
    p += 256;
    memcpy(dev->uuid, p, 16);
    p += 16;
    memcpy(&dev->memory, p, 8);
    p += 8;
    uint32_t na;
    memcpy(&na, p, 4);
    p += 4;
    for (uint32_t a = 0; a < na && p + 4 <= end; a++, p += 4) {
      if (a < SPW_MAX_ATTRS) {
        memcpy(&dev->attrs[a], p, 4);
      }
    }
  }
  spw_device_count = (int)count;
  spw_trace("connected to %s: %d device(s), shared memory %zu bytes", path, spw_device_count, shm_bytes);
  return CUDA_SUCCESS;
}

/* Work still batched when the process exits (copies, launches, frees, log lines) is sent, so the agent
 * sees everything the program did; the sessions end when the socket closes. */
__attribute__((destructor)) static void flush_at_exit(void) {
  pthread_mutex_lock(&spw_lock);
  if (sock >= 0 && !broken) {
    spw_flush();
  }
  pthread_mutex_unlock(&spw_lock);
}
