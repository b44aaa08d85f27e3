/*
 * The CUDA driver API of the shim. Each call takes spw_lock for the whole call (conn.h): CUDA calls come
 * from many threads and the order of requests on the socket must be the order of the calls.
 *
 * Objects (contexts, modules, functions, libraries, kernels, streams, events) are the shim's own structs;
 * each begins with a magic word so that a handle of the wrong kind or a freed one is refused with
 * CUDA_ERROR_INVALID_HANDLE instead of being trusted.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "cuda_abi.h"
#include "integrity.h"
#include "wire.h"

#define EXPORT __attribute__((visibility("default")))

#define MAGIC_CTX 0x43545831u
#define MAGIC_MOD 0x4d4f4431u
#define MAGIC_FUN 0x46554e31u
#define MAGIC_LIB 0x4c494231u
#define MAGIC_KER 0x4b455231u
#define MAGIC_STR 0x53545231u
#define MAGIC_EVT 0x45565431u
#define MAGIC_DEAD 0xdeaddeadu

/* Inline copies up to this size travel in the request; larger ones through the shared memory. */
#define INLINE_BYTES 4096u

struct spw_ctx {
  uint32_t magic;
  uint32_t remote;     /* the agent's context id (0: the primary contexts' session) */
  uint32_t remote_dev; /* the session's GPU index */
  CUdevice device;
  int primary;
  int refs;
  unsigned flags;
};

struct spw_module {
  uint32_t magic;
  struct spw_ctx *ctx;
  uint32_t remote;
  struct spw_function *functions; /* every function looked up, so each is asked for once */
};

struct spw_function {
  uint32_t magic;
  struct spw_module *module;
  struct spw_function *next;
  uint32_t remote;
  uint32_t nparams;
  uint32_t param_bytes;
  uint32_t *offsets;
  uint32_t *sizes;
  char *name;
};

#define LIB_CTX_SLOTS 16
struct spw_library {
  uint32_t magic;
  void *image;
  size_t len;
  struct spw_ctx *ctxs[LIB_CTX_SLOTS];
  struct spw_module *modules[LIB_CTX_SLOTS];
};

struct spw_kernel {
  uint32_t magic;
  struct spw_library *library;
  struct spw_kernel *next;
  char *name;
};

struct spw_stream {
  uint32_t magic;
  struct spw_ctx *ctx;
  unsigned flags;
  int priority;
};

struct spw_event {
  uint32_t magic;
  struct spw_ctx *ctx;
  uint32_t id;
  unsigned flags;
  int recorded;
};

/* ---------------------------------------------------------------- state */

static int initialized;
static CUresult init_result = CUDA_ERROR_NOT_INITIALIZED;
static struct spw_ctx primary[SPW_MAX_DEVICES];
static uint32_t next_event_id = 1;

#define CTX_STACK 32
static __thread struct spw_ctx *ctx_stack[CTX_STACK];
static __thread int ctx_depth;

struct alloc {
  uint64_t addr, size;
  struct spw_ctx *ctx;
};
static struct alloc *allocs;
static size_t nallocs, allocs_cap;

struct host_alloc {
  void *ptr;
  size_t size;
  unsigned flags;
};
static struct host_alloc *hosts;
static size_t nhosts, hosts_cap;

#define LOCK() pthread_mutex_lock(&spw_lock)
#define UNLOCK() pthread_mutex_unlock(&spw_lock)

static struct spw_ctx *current(void) { return ctx_depth > 0 ? ctx_stack[ctx_depth - 1] : NULL; }

static int valid_ctx(struct spw_ctx *c) { return c != NULL && c->magic == MAGIC_CTX; }

/* The context an op on `stream` runs in: the stream's, or the current one for the null, legacy and
 * per-thread streams. NULL when there is none (CUDA_ERROR_INVALID_CONTEXT). */
static struct spw_ctx *stream_ctx(CUstream s, CUresult *err) {
  if (s == NULL || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD) {
    struct spw_ctx *c = current();
    *err = valid_ctx(c) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
    return valid_ctx(c) ? c : NULL;
  }
  if (s->magic != MAGIC_STR) {
    *err = CUDA_ERROR_INVALID_HANDLE;
    return NULL;
  }
  *err = CUDA_SUCCESS;
  return s->ctx;
}

static void put_cd(struct spw_ctx *c) {
  spw_put32(c->remote);
  spw_put32(c->remote_dev);
}

static int is_device_ptr(uint64_t p) {
  return p >= spw_va_base() && p < spw_va_base() + spw_va_bytes();
}

static struct alloc *find_alloc(uint64_t p) {
  for (size_t i = 0; i < nallocs; i++) {
    if (p >= allocs[i].addr && p < allocs[i].addr + allocs[i].size) {
      return &allocs[i];
    }
  }
  return NULL;
}

static struct host_alloc *find_host(const void *p) {
  for (size_t i = 0; i < nhosts; i++) {
    const char *b = hosts[i].ptr;
    if ((const char *)p >= b && (const char *)p < b + hosts[i].size) {
      return &hosts[i];
    }
  }
  return NULL;
}

#define ENTER()                                   \
  do {                                            \
    if (!initialized) {                           \
      return CUDA_ERROR_NOT_INITIALIZED;          \
    }                                             \
  } while (0)

/* ---------------------------------------------------------------- init, versions, errors */

EXPORT CUresult cuInit(unsigned int flags) {
  if (flags != 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  if (!initialized) {
    init_result = spw_conn_open();
    if (init_result == CUDA_SUCCESS) {
      for (int d = 0; d < spw_device_count; d++) {
        primary[d] = (struct spw_ctx){MAGIC_CTX, 0, (uint32_t)d, d, 1, 0, 0};
      }
      initialized = 1;
    }
  }
  CUresult r = init_result;
  UNLOCK();
  return r;
}

EXPORT CUresult cuDriverGetVersion(int *v) {
  if (v == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *v = SPW_DRIVER_VERSION;
  return CUDA_SUCCESS;
}

struct err_name {
  int code;
  const char *name;
};
static const struct err_name ERRS[] = {
#define E(code, name) {code, #name},
#include "error_names.h"
#undef E
};

EXPORT CUresult cuGetErrorName(CUresult e, const char **s) {
  if (s == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  for (size_t i = 0; i < sizeof ERRS / sizeof ERRS[0]; i++) {
    if (ERRS[i].code == e) {
      *s = ERRS[i].name;
      return CUDA_SUCCESS;
    }
  }
  *s = NULL;
  return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult e, const char **s) {
  if (s == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  switch (e) {
  case CUDA_SUCCESS: *s = "no error"; return CUDA_SUCCESS;
  case CUDA_ERROR_INVALID_VALUE: *s = "invalid argument"; return CUDA_SUCCESS;
  case CUDA_ERROR_OUT_OF_MEMORY: *s = "out of memory"; return CUDA_SUCCESS;
  case CUDA_ERROR_NOT_INITIALIZED: *s = "initialization error"; return CUDA_SUCCESS;
  case CUDA_ERROR_NO_DEVICE: *s = "no CUDA-capable device is detected (no spillway agent)"; return CUDA_SUCCESS;
  case CUDA_ERROR_INVALID_CONTEXT: *s = "invalid device context"; return CUDA_SUCCESS;
  case CUDA_ERROR_INVALID_HANDLE: *s = "invalid resource handle"; return CUDA_SUCCESS;
  case CUDA_ERROR_NOT_FOUND: *s = "named symbol not found"; return CUDA_SUCCESS;
  case CUDA_ERROR_ILLEGAL_ADDRESS: *s = "an illegal memory access was encountered"; return CUDA_SUCCESS;
  case CUDA_ERROR_NOT_SUPPORTED: *s = "operation not supported"; return CUDA_SUCCESS;
  default: break;
  }
  return cuGetErrorName(e, s);
}

/* ---------------------------------------------------------------- devices */

EXPORT CUresult cuDeviceGetCount(int *n) {
  ENTER();
  if (n == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *n = spw_device_count;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice *d, int ordinal) {
  ENTER();
  if (d == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (ordinal < 0 || ordinal >= spw_device_count) {
    return CUDA_ERROR_INVALID_DEVICE;
  }
  *d = ordinal;
  return CUDA_SUCCESS;
}

#define CHECK_DEV(d)                                \
  do {                                              \
    ENTER();                                        \
    if ((d) < 0 || (d) >= spw_device_count) {       \
      return CUDA_ERROR_INVALID_DEVICE;             \
    }                                               \
  } while (0)

EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
  CHECK_DEV(d);
  if (name == NULL || len <= 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  snprintf(name, (size_t)len, "%s", spw_devices[d].name);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetUuid(CUuuid *u, CUdevice d) {
  CHECK_DEV(d);
  if (u == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  memcpy(u->bytes, spw_devices[d].uuid, 16);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetUuid_v2(CUuuid *u, CUdevice d) { return cuDeviceGetUuid(u, d); }

EXPORT CUresult cuDeviceGetLuid(char *luid, unsigned int *mask, CUdevice d) {
  CHECK_DEV(d);
  (void)luid;
  (void)mask;
  return CUDA_ERROR_NOT_SUPPORTED; /* LUIDs exist on Windows only, as on the real driver */
}

EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice d) {
  CHECK_DEV(d);
  if (bytes == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *bytes = spw_devices[d].memory;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d) {
  CHECK_DEV(d);
  if (v == NULL || attr <= 0 || attr >= SPW_MAX_ATTRS) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *v = spw_devices[d].attrs[attr];
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice d) {
  CHECK_DEV(d);
  if (major == NULL || minor == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *major = spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR];
  *minor = spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR];
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceCanAccessPeer(int *can, CUdevice d, CUdevice peer) {
  CHECK_DEV(d);
  CHECK_DEV(peer);
  if (can == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *can = 0; /* a slice's GPUs may be on different servers */
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetPCIBusId(char *id, int len, CUdevice d) {
  CHECK_DEV(d);
  if (id == NULL || len <= 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  snprintf(id, (size_t)len, "%08x:%02x:%02x.0", spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID],
           spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID],
           spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID]);
  return CUDA_SUCCESS;
}

/* ---------------------------------------------------------------- contexts */

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *c, CUdevice d) {
  CHECK_DEV(d);
  if (c == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  primary[d].refs++;
  *c = &primary[d];
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
  CHECK_DEV(d);
  LOCK();
  if (primary[d].refs > 0) {
    primary[d].refs--;
  }
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxGetState(CUdevice d, unsigned int *flags, int *active) {
  CHECK_DEV(d);
  if (flags == NULL || active == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  *flags = primary[d].flags;
  *active = primary[d].refs > 0;
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice d, unsigned int flags) {
  CHECK_DEV(d);
  LOCK();
  primary[d].flags = flags; /* scheduling hints: the node schedules by compute share */
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize(void);

EXPORT CUresult cuDevicePrimaryCtxReset_v2(CUdevice d) {
  CHECK_DEV(d);
  /* Resetting would have to free every allocation of the session: not done, said so. */
  spw_unsupported("cuDevicePrimaryCtxReset");
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuCtxGetCurrent(CUcontext *c) {
  ENTER();
  if (c == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *c = current();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext c) {
  ENTER();
  if (c != NULL && !valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  if (ctx_depth == 0) {
    if (c != NULL) {
      ctx_stack[ctx_depth++] = c;
    }
  } else if (c == NULL) {
    ctx_depth--;
  } else {
    ctx_stack[ctx_depth - 1] = c;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPushCurrent_v2(CUcontext c) {
  ENTER();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  if (ctx_depth == CTX_STACK) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  ctx_stack[ctx_depth++] = c;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPopCurrent_v2(CUcontext *c) {
  ENTER();
  if (ctx_depth == 0) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  struct spw_ctx *top = ctx_stack[--ctx_depth];
  if (c != NULL) {
    *c = top;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetDevice(CUdevice *d) {
  ENTER();
  if (d == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  *d = c->device;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetDevice_v2(CUdevice *d, CUcontext c) {
  ENTER();
  if (d == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (c == NULL) {
    return cuCtxGetDevice(d);
  }
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  *d = c->device;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetFlags(unsigned int *flags) {
  ENTER();
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  if (flags == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *flags = c->flags;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetFlags(unsigned int flags) {
  ENTER();
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  c->flags = flags;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetId(CUcontext c, unsigned long long *id) {
  ENTER();
  if (c == NULL) {
    c = current();
  }
  if (!valid_ctx(c) || id == NULL) {
    return valid_ctx(c) ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_INVALID_CONTEXT;
  }
  *id = c->primary ? (unsigned long long)c->device + 1 : 1000ULL + c->remote;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetApiVersion(CUcontext c, unsigned int *v) {
  ENTER();
  if (v == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  (void)c;
  *v = 3020; /* what the driver reports for every context created by the current API */
  return CUDA_SUCCESS;
}

static CUresult ctx_create(struct spw_ctx **out, unsigned flags, CUdevice d) {
  CHECK_DEV(d);
  if (out == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  spw_begin(SPW_CTX_CREATE);
  spw_put32((uint32_t)d);
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r == CUDA_SUCCESS) {
    struct spw_ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
      UNLOCK();
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    c->magic = MAGIC_CTX;
    memcpy(&c->remote, p, 4);
    c->remote_dev = 0;
    c->device = d;
    c->flags = flags;
    c->refs = 1;
    if (ctx_depth < CTX_STACK) {
      ctx_stack[ctx_depth++] = c;
    }
    *out = c;
  }
  UNLOCK();
  return r;
}

EXPORT CUresult cuCtxCreate_v2(CUcontext *c, unsigned int flags, CUdevice d) {
  return ctx_create(c, flags, d);
}

EXPORT CUresult cuCtxCreate_v4(CUcontext *c, void *params, unsigned int flags, CUdevice d) {
  if (params != NULL) {
    spw_unsupported("cuCtxCreate_v4 with CUctxCreateParams");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return ctx_create(c, flags, d);
}

EXPORT CUresult cuCtxDestroy_v2(CUcontext c) {
  ENTER();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  if (c->primary) {
    return CUDA_ERROR_INVALID_CONTEXT; /* primary contexts are released, not destroyed */
  }
  LOCK();
  spw_begin(SPW_CTX_DESTROY);
  spw_put32(c->remote);
  spw_end();
  CUresult r = spw_call(NULL, NULL);
  for (size_t i = 0; i < nallocs;) {
    if (allocs[i].ctx == c) {
      allocs[i] = allocs[--nallocs];
    } else {
      i++;
    }
  }
  for (int i = 0; i < ctx_depth; i++) {
    if (ctx_stack[i] == c) {
      memmove(&ctx_stack[i], &ctx_stack[i + 1], sizeof ctx_stack[0] * (size_t)(ctx_depth - i - 1));
      ctx_depth--;
      i--;
    }
  }
  c->magic = MAGIC_DEAD;
  UNLOCK();
  return r;
}

static CUresult sync_ctx(struct spw_ctx *c) {
  spw_begin(SPW_SYNC);
  put_cd(c);
  spw_end();
  return spw_call(NULL, NULL);
}

EXPORT CUresult cuCtxSynchronize(void) {
  ENTER();
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  CUresult r = sync_ctx(c);
  UNLOCK();
  return r;
}

EXPORT CUresult cuCtxSynchronize_v2(CUcontext c) {
  ENTER();
  if (c == NULL) {
    return cuCtxSynchronize();
  }
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  CUresult r = sync_ctx(c);
  UNLOCK();
  return r;
}

/* Limits and cache configuration are hints to the real driver; the node applies its own. Reading them
 * answers what a CUDA 12 driver reports by default; setting one the node cannot honour is refused. */
EXPORT CUresult cuCtxGetLimit(size_t *v, int limit) {
  ENTER();
  if (v == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  switch (limit) {
  case 0: *v = 1024; return CUDA_SUCCESS;           /* stack size */
  case 1: *v = 1 << 20; return CUDA_SUCCESS;        /* printf FIFO */
  case 2: *v = 8 << 20; return CUDA_SUCCESS;        /* malloc heap */
  case 3: *v = 2; return CUDA_SUCCESS;              /* device runtime sync depth */
  case 4: *v = 2048; return CUDA_SUCCESS;           /* pending launches */
  default: return CUDA_ERROR_INVALID_VALUE;
  }
}

EXPORT CUresult cuCtxSetLimit(int limit, size_t v) {
  ENTER();
  size_t cur;
  if (cuCtxGetLimit(&cur, limit) != CUDA_SUCCESS) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (v <= cur) {
    return CUDA_SUCCESS; /* within what the node gives every kernel */
  }
  spw_unsupported("cuCtxSetLimit (raising a limit)");
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuCtxGetCacheConfig(int *cfg) {
  ENTER();
  if (cfg == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *cfg = 0;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCacheConfig(int cfg) {
  ENTER();
  (void)cfg; /* a preference the driver may ignore by its own documentation */
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetStreamPriorityRange(int *least, int *greatest) {
  ENTER();
  if (least != NULL) {
    *least = 0;
  }
  if (greatest != NULL) {
    *greatest = 0; /* one priority: the session orders all its work */
  }
  return CUDA_SUCCESS;
}

/* ---------------------------------------------------------------- memory */

static CUresult mem_alloc(CUdeviceptr *dp, size_t bytes) {
  ENTER();
  if (dp == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (bytes == 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  spw_begin(SPW_MALLOC);
  put_cd(c);
  spw_put64(bytes);
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r == CUDA_SUCCESS) {
    uint64_t addr;
    memcpy(&addr, p, 8);
    if (nallocs == allocs_cap) {
      size_t cap = allocs_cap ? allocs_cap * 2 : 64;
      struct alloc *a = realloc(allocs, cap * sizeof *a);
      if (a == NULL) {
        UNLOCK();
        return CUDA_ERROR_OUT_OF_MEMORY;
      }
      allocs = a;
      allocs_cap = cap;
    }
    allocs[nallocs++] = (struct alloc){addr, bytes, c};
    *dp = addr;
  }
  UNLOCK();
  return r;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dp, size_t bytes) { return mem_alloc(dp, bytes); }

EXPORT CUresult cuMemAllocPitch_v2(CUdeviceptr *dp, size_t *pitch, size_t width, size_t height,
                                   unsigned int elem) {
  if (pitch == NULL || width == 0 || height == 0 || (elem != 4 && elem != 8 && elem != 16)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  size_t pt = (width + 511) & ~(size_t)511;
  CUresult r = mem_alloc(dp, pt * height);
  if (r == CUDA_SUCCESS) {
    *pitch = pt;
  }
  return r;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr dp) {
  ENTER();
  if (dp == 0) {
    return CUDA_SUCCESS;
  }
  LOCK();
  struct alloc *a = find_alloc(dp);
  if (a == NULL || a->addr != dp) {
    UNLOCK();
    return CUDA_ERROR_INVALID_VALUE;
  }
  struct spw_ctx *c = a->ctx;
  *a = allocs[--nallocs];
  spw_begin(SPW_FREE);
  put_cd(c);
  spw_put64(dp);
  spw_end();
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total) {
  ENTER();
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  spw_begin(SPW_MEM_INFO);
  put_cd(c);
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r == CUDA_SUCCESS) {
    uint64_t f, t;
    memcpy(&f, p, 8);
    memcpy(&t, p + 8, 8);
    if (free_bytes != NULL) {
      *free_bytes = f;
    }
    if (total != NULL) {
      *total = t;
    }
  }
  UNLOCK();
  return r;
}

EXPORT CUresult cuMemGetAddressRange_v2(CUdeviceptr *base, size_t *size, CUdeviceptr dp) {
  ENTER();
  LOCK();
  struct alloc *a = find_alloc(dp);
  if (a == NULL) {
    UNLOCK();
    return CUDA_ERROR_NOT_FOUND;
  }
  if (base != NULL) {
    *base = a->addr;
  }
  if (size != NULL) {
    *size = a->size;
  }
  UNLOCK();
  return CUDA_SUCCESS;
}

/* Host-pinned memory stays in this process: ordinary memory is as good as pinned to the agent. */
static CUresult host_alloc(void **pp, size_t bytes, unsigned flags) {
  ENTER();
  if (pp == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (flags & CU_MEMHOSTALLOC_DEVICEMAP) {
    spw_unsupported("cuMemHostAlloc with CU_MEMHOSTALLOC_DEVICEMAP (mapped host memory)");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  void *p = NULL;
  if (posix_memalign(&p, 4096, bytes ? bytes : 1) != 0) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  LOCK();
  if (nhosts == hosts_cap) {
    size_t cap = hosts_cap ? hosts_cap * 2 : 32;
    struct host_alloc *h = realloc(hosts, cap * sizeof *h);
    if (h == NULL) {
      UNLOCK();
      free(p);
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    hosts = h;
    hosts_cap = cap;
  }
  hosts[nhosts++] = (struct host_alloc){p, bytes, flags};
  UNLOCK();
  *pp = p;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostAlloc(void **pp, size_t bytes, unsigned int flags) { return host_alloc(pp, bytes, flags); }
EXPORT CUresult cuMemAllocHost_v2(void **pp, size_t bytes) { return host_alloc(pp, bytes, 0); }

EXPORT CUresult cuMemFreeHost(void *p) {
  ENTER();
  LOCK();
  for (size_t i = 0; i < nhosts; i++) {
    if (hosts[i].ptr == p) {
      hosts[i] = hosts[--nhosts];
      UNLOCK();
      free(p);
      return CUDA_SUCCESS;
    }
  }
  UNLOCK();
  return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuMemHostGetFlags(unsigned int *flags, void *p) {
  ENTER();
  LOCK();
  struct host_alloc *h = find_host(p);
  if (h == NULL || flags == NULL) {
    UNLOCK();
    return CUDA_ERROR_INVALID_VALUE;
  }
  *flags = h->flags;
  UNLOCK();
  return CUDA_SUCCESS;
}

/* Registering pins nothing: copies from any host memory go through the shared memory anyway. */
EXPORT CUresult cuMemHostRegister_v2(void *p, size_t bytes, unsigned int flags) {
  ENTER();
  if (p == NULL || bytes == 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (flags & CU_MEMHOSTALLOC_DEVICEMAP) {
    spw_unsupported("cuMemHostRegister with CU_MEMHOSTREGISTER_DEVICEMAP (mapped host memory)");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemHostUnregister(void *p) {
  ENTER();
  return p == NULL ? CUDA_ERROR_INVALID_VALUE : CUDA_SUCCESS;
}

/* Copies. A device range must lie in one live allocation; the agent and the node check again. */

static CUresult htod(struct spw_ctx *c, uint64_t dst, const void *src, size_t n) {
  const uint8_t *s = src;
  while (n > 0) {
    if (n <= INLINE_BYTES) {
      spw_begin(SPW_HTOD);
      put_cd(c);
      spw_put64(dst);
      spw_put64(n);
      spw_put32(SPW_DATA_INLINE);
      spw_put32(0);
      spw_put64(0);
      spw_put(s, n);
      spw_end();
      return CUDA_SUCCESS;
    }
    size_t chunk = n < spw_shm_capacity() / 2 ? n : spw_shm_capacity() / 2;
    uint64_t off;
    uint8_t *buf = spw_shm_reserve(chunk, &off);
    if (buf == NULL) {
      return CUDA_ERROR_DEINITIALIZED;
    }
    memcpy(buf, s, chunk);
    spw_begin(SPW_HTOD);
    put_cd(c);
    spw_put64(dst);
    spw_put64(chunk);
    spw_put32(SPW_DATA_SHM);
    spw_put32(0);
    spw_put64(off);
    spw_end();
    s += chunk;
    dst += chunk;
    n -= chunk;
  }
  return CUDA_SUCCESS;
}

static CUresult dtoh(struct spw_ctx *c, void *dst, uint64_t src, size_t n) {
  uint8_t *d = dst;
  while (n > 0) {
    size_t chunk;
    int inl = n <= INLINE_BYTES;
    uint64_t off = 0;
    if (inl) {
      chunk = n;
    } else {
      chunk = n < spw_shm_capacity() ? n : spw_shm_capacity();
      /* A reply frees the whole region, so a read may use it from the start. */
      if (spw_shm_reserve(0, &off) == NULL) {
        return CUDA_ERROR_DEINITIALIZED;
      }
      spw_flush();
      off = 0;
    }
    spw_begin(SPW_DTOH);
    put_cd(c);
    spw_put64(src);
    spw_put64(chunk);
    spw_put32(inl ? SPW_DATA_INLINE : SPW_DATA_SHM);
    spw_put32(0);
    spw_put64(off);
    spw_end();
    const uint8_t *p;
    size_t len;
    CUresult r = spw_call(&p, &len);
    if (r != CUDA_SUCCESS) {
      return r;
    }
    if (inl) {
      if (len != chunk) {
        return CUDA_ERROR_UNKNOWN;
      }
      memcpy(d, p, chunk);
    } else {
      memcpy(d, spw_shm_at(off), chunk);
    }
    d += chunk;
    src += chunk;
    n -= chunk;
  }
  return CUDA_SUCCESS;
}

static void dtod(struct spw_ctx *c, uint64_t dst, uint64_t src, size_t n) {
  spw_begin(SPW_DTOD);
  put_cd(c);
  spw_put64(dst);
  spw_put64(src);
  spw_put64(n);
  spw_end();
}

static CUresult copy_ctx(CUstream s, struct spw_ctx **c) {
  CUresult e;
  ENTER();
  *c = stream_ctx(s, &e);
  return e;
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s) {
  struct spw_ctx *c;
  CUresult r = copy_ctx(s, &c);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  if (n == 0) {
    return CUDA_SUCCESS;
  }
  if (src == NULL || !is_device_ptr(dst)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  r = htod(c, dst, src, n);
  UNLOCK();
  return r;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
  /* The data is in the shared memory or the request when this returns: the source may be reused, which
   * is all a synchronous copy from host memory promises. The copy itself completes in session order. */
  return cuMemcpyHtoDAsync_v2(dst, src, n, NULL);
}

EXPORT CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
  struct spw_ctx *c;
  CUresult r = copy_ctx(NULL, &c);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  if (n == 0) {
    return CUDA_SUCCESS;
  }
  if (dst == NULL || !is_device_ptr(src)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  r = dtoh(c, dst, src, n);
  UNLOCK();
  return r;
}

/* Done synchronously: the host buffer is filled when this returns, which honours every use of an async
 * read (the program may only look after synchronizing) at the price of a round trip. */
EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s) {
  struct spw_ctx *c;
  CUresult r = copy_ctx(s, &c);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  if (n == 0) {
    return CUDA_SUCCESS;
  }
  if (dst == NULL || !is_device_ptr(src)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  r = dtoh(c, dst, src, n);
  UNLOCK();
  return r;
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  struct spw_ctx *c;
  CUresult r = copy_ctx(s, &c);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  if (n == 0) {
    return CUDA_SUCCESS;
  }
  if (!is_device_ptr(dst) || !is_device_ptr(src)) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  dtod(c, dst, src, n);
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return cuMemcpyDtoDAsync_v2(dst, src, n, NULL);
}

/* Unified addressing: the direction follows from which side each pointer lies on. */
EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  int dd = is_device_ptr(dst), sd = is_device_ptr(src);
  if (dd && sd) {
    return cuMemcpyDtoDAsync_v2(dst, src, n, s);
  }
  if (dd) {
    return cuMemcpyHtoDAsync_v2(dst, (const void *)(uintptr_t)src, n, s);
  }
  if (sd) {
    return cuMemcpyDtoHAsync_v2((void *)(uintptr_t)dst, src, n, s);
  }
  struct spw_ctx *c;
  CUresult r = copy_ctx(s, &c);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  /* Host to host: in stream order, so after what the session has queued. */
  LOCK();
  r = sync_ctx(c);
  UNLOCK();
  if (r == CUDA_SUCCESS && n > 0) {
    memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
  }
  return r;
}

EXPORT CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n) { return cuMemcpyAsync(dst, src, n, NULL); }

static CUresult memset_any(CUdeviceptr dst, unsigned width, unsigned value, size_t count, CUstream s) {
  struct spw_ctx *c;
  CUresult r = copy_ctx(s, &c);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  if (count == 0) {
    return CUDA_SUCCESS;
  }
  if (!is_device_ptr(dst) || (dst % width) != 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  spw_begin(SPW_MEMSET);
  put_cd(c);
  spw_put64(dst);
  spw_put32(width);
  spw_put32(value);
  spw_put64(count);
  spw_end();
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n) { return memset_any(d, 1, v, n, NULL); }
EXPORT CUresult cuMemsetD16_v2(CUdeviceptr d, unsigned short v, size_t n) { return memset_any(d, 2, v, n, NULL); }
EXPORT CUresult cuMemsetD32_v2(CUdeviceptr d, unsigned int v, size_t n) { return memset_any(d, 4, v, n, NULL); }
EXPORT CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, CUstream s) {
  return memset_any(d, 1, v, n, s);
}
EXPORT CUresult cuMemsetD16Async(CUdeviceptr d, unsigned short v, size_t n, CUstream s) {
  return memset_any(d, 2, v, n, s);
}
EXPORT CUresult cuMemsetD32Async(CUdeviceptr d, unsigned int v, size_t n, CUstream s) {
  return memset_any(d, 4, v, n, s);
}

EXPORT CUresult cuPointerGetAttribute(void *data, int attr, CUdeviceptr p) {
  ENTER();
  if (data == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  struct alloc *a = find_alloc(p);
  struct host_alloc *h = a == NULL ? find_host((const void *)(uintptr_t)p) : NULL;
  CUresult r = CUDA_SUCCESS;
  if (a == NULL && h == NULL) {
    r = CUDA_ERROR_INVALID_VALUE;
  } else {
    switch (attr) {
    case CU_POINTER_ATTRIBUTE_CONTEXT: *(CUcontext *)data = a ? a->ctx : NULL; break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE: *(unsigned *)data = a ? CU_MEMORYTYPE_DEVICE : CU_MEMORYTYPE_HOST; break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
      if (a) {
        *(CUdeviceptr *)data = p;
      } else {
        r = CUDA_ERROR_INVALID_VALUE;
      }
      break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
      if (h) {
        *(void **)data = (void *)(uintptr_t)p;
      } else {
        r = CUDA_ERROR_INVALID_VALUE;
      }
      break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: *(int *)data = a ? a->ctx->device : 0; break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR: *(CUdeviceptr *)data = a ? a->addr : (CUdeviceptr)(uintptr_t)h->ptr; break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE: *(size_t *)data = a ? a->size : h->size; break;
    default:
      UNLOCK();
      spw_unsupported("cuPointerGetAttribute (this attribute)");
      return CUDA_ERROR_NOT_SUPPORTED;
    }
  }
  UNLOCK();
  return r;
}

/* ---------------------------------------------------------------- modules */

/* The length of a module image: CUDA passes only a pointer. */
static int image_length(const void *image, size_t *len, const void **start) {
  const uint8_t *p = image;
  uint32_t magic;
  memcpy(&magic, p, 4);
  if (magic == 0x466243B1u) { /* fatbin wrapper: { magic, version, data, filename_or_fatbins } */
    uint32_t version;
    memcpy(&version, p + 4, 4);
    if (version != 1) {
      return -1;
    }
    const void *data;
    memcpy(&data, p + 8, sizeof data);
    return image_length(data, len, start);
  }
  if (magic == 0xBA55ED50u) { /* fatbin: u32 magic, u16 version, u16 header size, u64 size after it */
    uint16_t hs;
    uint64_t fs;
    memcpy(&hs, p + 6, 2);
    memcpy(&fs, p + 8, 8);
    *len = hs + fs;
    *start = p;
    return 0;
  }
  if (p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F') {
    uint64_t shoff;
    uint16_t shentsize, shnum;
    memcpy(&shoff, p + 0x28, 8);
    memcpy(&shentsize, p + 0x3a, 2);
    memcpy(&shnum, p + 0x3c, 2);
    *len = shoff + (uint64_t)shentsize * shnum;
    *start = p;
    return 0;
  }
  *len = strlen((const char *)p) + 1; /* PTX text */
  *start = p;
  return 0;
}

static CUresult module_load(struct spw_ctx *c, const void *image, struct spw_module **out) {
  size_t len;
  const void *start;
  if (image == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (image_length(image, &len, &start) != 0) {
    spw_unsupported("cuModuleLoadData of a prelinked fatbin list (wrapper version 2)");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  spw_begin(SPW_MODULE_LOAD);
  put_cd(c);
  spw_put64(len);
  spw_put(start, len);
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  struct spw_module *m = calloc(1, sizeof *m);
  if (m == NULL) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  m->magic = MAGIC_MOD;
  m->ctx = c;
  memcpy(&m->remote, p, 4);
  *out = m;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleLoadData(CUmodule *m, const void *image) {
  ENTER();
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  if (m == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  CUresult r = module_load(c, image, m);
  UNLOCK();
  return r;
}

EXPORT CUresult cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned int n, void *opts, void **vals) {
  (void)n;
  (void)opts;
  (void)vals; /* JIT options: the node compiles or interprets with its own */
  return cuModuleLoadData(m, image);
}

EXPORT CUresult cuModuleLoadFatBinary(CUmodule *m, const void *image) { return cuModuleLoadData(m, image); }

static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  while (buf != NULL) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (n < cap) {
      break;
    }
    cap *= 2;
    char *nb = realloc(buf, cap + 1);
    if (nb == NULL) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
  }
  fclose(f);
  if (buf != NULL) {
    buf[n] = '\0';
    *len = n;
  }
  return buf;
}

EXPORT CUresult cuModuleLoad(CUmodule *m, const char *path) {
  ENTER();
  if (path == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  size_t len;
  void *image = read_file(path, &len);
  if (image == NULL) {
    return CUDA_ERROR_FILE_NOT_FOUND;
  }
  CUresult r = cuModuleLoadData(m, image);
  free(image);
  return r;
}

EXPORT CUresult cuModuleUnload(CUmodule m) {
  ENTER();
  if (m == NULL || m->magic != MAGIC_MOD) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  LOCK();
  spw_begin(SPW_MODULE_UNLOAD);
  put_cd(m->ctx);
  spw_put32(m->remote);
  spw_end();
  for (struct spw_function *f = m->functions; f != NULL;) {
    struct spw_function *next = f->next;
    f->magic = MAGIC_DEAD; /* freed memory of a handle still held would be worse than a dead one */
    f = next;
  }
  m->magic = MAGIC_DEAD;
  UNLOCK();
  return CUDA_SUCCESS;
}

static CUresult get_function(struct spw_module *m, const char *name, struct spw_function **out) {
  for (struct spw_function *f = m->functions; f != NULL; f = f->next) {
    if (strcmp(f->name, name) == 0) {
      *out = f;
      return CUDA_SUCCESS;
    }
  }
  uint32_t nl = (uint32_t)strlen(name);
  spw_begin(SPW_GET_FUNCTION);
  put_cd(m->ctx);
  spw_put32(m->remote);
  spw_put32(nl);
  spw_put(name, nl);
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  struct spw_function *f = calloc(1, sizeof *f);
  if (f == NULL) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  f->magic = MAGIC_FUN;
  f->module = m;
  memcpy(&f->remote, p, 4);
  memcpy(&f->nparams, p + 4, 4);
  memcpy(&f->param_bytes, p + 8, 4);
  f->offsets = calloc(f->nparams + 1, 4);
  f->sizes = calloc(f->nparams + 1, 4);
  f->name = strdup(name);
  for (uint32_t i = 0; i < f->nparams; i++) {
    memcpy(&f->offsets[i], p + 12 + 8 * i, 4);
    memcpy(&f->sizes[i], p + 16 + 8 * i, 4);
  }
  f->next = m->functions;
  m->functions = f;
  *out = f;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  ENTER();
  if (f == NULL || name == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (m == NULL || m->magic != MAGIC_MOD) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  LOCK();
  CUresult r = get_function(m, name, f);
  UNLOCK();
  return r;
}

static CUresult get_global(struct spw_module *m, const char *name, CUdeviceptr *dp, size_t *bytes) {
  uint32_t nl = (uint32_t)strlen(name);
  spw_begin(SPW_GET_GLOBAL);
  put_cd(m->ctx);
  spw_put32(m->remote);
  spw_put32(nl);
  spw_put(name, nl);
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  uint64_t a, s;
  memcpy(&a, p, 8);
  memcpy(&s, p + 8, 8);
  if (dp != NULL) {
    *dp = a;
  }
  if (bytes != NULL) {
    *bytes = s;
  }
  if (find_alloc(a) == NULL && nallocs < allocs_cap + 1) {
    if (nallocs == allocs_cap) {
      size_t cap = allocs_cap ? allocs_cap * 2 : 64;
      struct alloc *na = realloc(allocs, cap * sizeof *na);
      if (na == NULL) {
        return CUDA_ERROR_OUT_OF_MEMORY;
      }
      allocs = na;
      allocs_cap = cap;
    }
    allocs[nallocs++] = (struct alloc){a, s, m->ctx};
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetGlobal_v2(CUdeviceptr *dp, size_t *bytes, CUmodule m, const char *name) {
  ENTER();
  if (name == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (m == NULL || m->magic != MAGIC_MOD) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  LOCK();
  CUresult r = get_global(m, name, dp, bytes);
  UNLOCK();
  return r;
}

EXPORT CUresult cuModuleGetLoadingMode(int *mode) {
  if (mode == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *mode = 1; /* CU_MODULE_EAGER_LOADING: a module is sent to the node when it is loaded */
  return CUDA_SUCCESS;
}

/* Libraries are context-independent: the image is kept here and loaded into a context at first use. */
EXPORT CUresult cuLibraryLoadData(CUlibrary *lib, const void *code, void *jo, void **jv, unsigned int njo,
                                  void *lo, void **lv, unsigned int nlo) {
  (void)jo;
  (void)jv;
  (void)njo;
  (void)lo;
  (void)lv;
  (void)nlo;
  ENTER();
  if (lib == NULL || code == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  size_t len;
  const void *start;
  if (image_length(code, &len, &start) != 0) {
    spw_unsupported("cuLibraryLoadData of a prelinked fatbin list (wrapper version 2)");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  struct spw_library *l = calloc(1, sizeof *l);
  if (l == NULL || (l->image = malloc(len + 1)) == NULL) {
    free(l);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  memcpy(l->image, start, len);
  ((char *)l->image)[len] = '\0';
  l->len = len;
  l->magic = MAGIC_LIB;
  *lib = l;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuLibraryLoadFromFile(CUlibrary *lib, const char *path, void *jo, void **jv, unsigned int njo,
                                      void *lo, void **lv, unsigned int nlo) {
  ENTER();
  if (path == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  size_t len;
  void *image = read_file(path, &len);
  if (image == NULL) {
    return CUDA_ERROR_FILE_NOT_FOUND;
  }
  CUresult r = cuLibraryLoadData(lib, image, jo, jv, njo, lo, lv, nlo);
  free(image);
  return r;
}

static CUresult library_module(struct spw_library *l, struct spw_ctx *c, struct spw_module **out) {
  int free_slot = -1;
  for (int i = 0; i < LIB_CTX_SLOTS; i++) {
    if (l->ctxs[i] == c && l->modules[i] != NULL && l->modules[i]->magic == MAGIC_MOD) {
      *out = l->modules[i];
      return CUDA_SUCCESS;
    }
    if (free_slot < 0 && (l->ctxs[i] == NULL || !valid_ctx(l->ctxs[i]))) {
      free_slot = i;
    }
  }
  if (free_slot < 0) {
    spw_unsupported("cuLibrary used in more than 16 contexts");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  CUresult r = module_load(c, l->image, out);
  if (r == CUDA_SUCCESS) {
    l->ctxs[free_slot] = c;
    l->modules[free_slot] = *out;
  }
  return r;
}

EXPORT CUresult cuLibraryUnload(CUlibrary l) {
  ENTER();
  if (l == NULL || l->magic != MAGIC_LIB) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  for (int i = 0; i < LIB_CTX_SLOTS; i++) {
    if (l->modules[i] != NULL && l->modules[i]->magic == MAGIC_MOD && valid_ctx(l->ctxs[i])) {
      cuModuleUnload(l->modules[i]);
    }
  }
  LOCK();
  l->magic = MAGIC_DEAD;
  free(l->image);
  l->image = NULL;
  UNLOCK();
  return CUDA_SUCCESS;
}

static struct spw_kernel *kernels; /* every kernel handed out, so a name maps to one handle */

EXPORT CUresult cuLibraryGetKernel(CUkernel *k, CUlibrary l, const char *name) {
  ENTER();
  if (k == NULL || name == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (l == NULL || l->magic != MAGIC_LIB) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  LOCK();
  for (struct spw_kernel *x = kernels; x != NULL; x = x->next) {
    if (x->library == l && strcmp(x->name, name) == 0) {
      *k = x;
      UNLOCK();
      return CUDA_SUCCESS;
    }
  }
  struct spw_kernel *x = calloc(1, sizeof *x);
  if (x == NULL) {
    UNLOCK();
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  x->magic = MAGIC_KER;
  x->library = l;
  x->name = strdup(name);
  x->next = kernels;
  kernels = x;
  *k = x;
  UNLOCK();
  return CUDA_SUCCESS;
}

static CUresult kernel_function(struct spw_kernel *k, struct spw_ctx *c, struct spw_function **f) {
  if (k->library->magic != MAGIC_LIB) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  struct spw_module *m;
  CUresult r = library_module(k->library, c, &m);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  return get_function(m, k->name, f);
}

EXPORT CUresult cuKernelGetFunction(CUfunction *f, CUkernel k) {
  ENTER();
  if (f == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (k == NULL || k->magic != MAGIC_KER) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  CUresult r = kernel_function(k, c, f);
  UNLOCK();
  return r;
}

EXPORT CUresult cuLibraryGetModule(CUmodule *m, CUlibrary l) {
  ENTER();
  if (m == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (l == NULL || l->magic != MAGIC_LIB) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  CUresult r = library_module(l, c, m);
  UNLOCK();
  return r;
}

EXPORT CUresult cuLibraryGetGlobal(CUdeviceptr *dp, size_t *bytes, CUlibrary l, const char *name) {
  CUmodule m;
  CUresult r = cuLibraryGetModule(&m, l);
  if (r != CUDA_SUCCESS) {
    return r;
  }
  return cuModuleGetGlobal_v2(dp, bytes, m, name);
}

EXPORT CUresult cuKernelGetName(const char **name, CUkernel k) {
  if (name == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (k == NULL || k->magic != MAGIC_KER) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  *name = k->name;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncGetName(const char **name, CUfunction f) {
  if (name == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (f != NULL && ((struct spw_kernel *)f)->magic == MAGIC_KER) {
    return cuKernelGetName(name, (CUkernel)f);
  }
  if (f == NULL || f->magic != MAGIC_FUN) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  *name = f->name;
  return CUDA_SUCCESS;
}

/* A CUfunction, or (since CUDA 12.0) a CUkernel cast to one, resolved in the current context. */
static CUresult resolve_function(CUfunction f, struct spw_function **out) {
  if (f == NULL) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  if (((struct spw_kernel *)f)->magic == MAGIC_KER) {
    struct spw_ctx *c = current();
    if (!valid_ctx(c)) {
      return CUDA_ERROR_INVALID_CONTEXT;
    }
    return kernel_function((struct spw_kernel *)f, c, out);
  }
  if (f->magic != MAGIC_FUN || f->module->magic != MAGIC_MOD) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  *out = f;
  return CUDA_SUCCESS;
}

static CUresult func_param_info(CUfunction f, size_t i, size_t *off, size_t *size) {
  ENTER();
  LOCK();
  struct spw_function *fn;
  CUresult r = resolve_function(f, &fn);
  if (r == CUDA_SUCCESS) {
    if (i >= fn->nparams) {
      r = CUDA_ERROR_INVALID_VALUE;
    } else {
      if (off != NULL) {
        *off = fn->offsets[i];
      }
      if (size != NULL) {
        *size = fn->sizes[i];
      }
    }
  }
  UNLOCK();
  return r;
}

EXPORT CUresult cuFuncGetParamInfo(CUfunction f, size_t i, size_t *off, size_t *size) {
  return func_param_info(f, i, off, size);
}

EXPORT CUresult cuKernelGetParamInfo(CUkernel k, size_t i, size_t *off, size_t *size) {
  return func_param_info((CUfunction)k, i, off, size);
}

EXPORT CUresult cuFuncGetAttribute(int *v, int attr, CUfunction f) {
  ENTER();
  if (v == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  struct spw_function *fn;
  CUresult r = resolve_function(f, &fn);
  if (r == CUDA_SUCCESS) {
    struct spw_ctx *c = fn->module->ctx;
    switch (attr) {
    case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK:
      *v = spw_devices[c->device].attrs[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK];
      break;
    case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES:
    case CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES:
    case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES:
    case CU_FUNC_ATTRIBUTE_CACHE_MODE_CA:
      *v = 0; /* not known before the node compiles the kernel; 0 is what the driver says of none */
      break;
    case CU_FUNC_ATTRIBUTE_NUM_REGS: *v = 32; break;
    case CU_FUNC_ATTRIBUTE_PTX_VERSION:
    case CU_FUNC_ATTRIBUTE_BINARY_VERSION:
      *v = spw_devices[c->device].attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR] * 10 +
           spw_devices[c->device].attrs[CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR];
      break;
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
      *v = spw_devices[c->device].attrs[CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK];
      break;
    case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT: *v = -1; break;
    default:
      UNLOCK();
      spw_unsupported("cuFuncGetAttribute (this attribute)");
      return CUDA_ERROR_NOT_SUPPORTED;
    }
  }
  UNLOCK();
  return r;
}

EXPORT CUresult cuKernelGetAttribute(int *v, int attr, CUkernel k, CUdevice d) {
  (void)d;
  return cuFuncGetAttribute(v, attr, (CUfunction)k);
}

EXPORT CUresult cuFuncSetAttribute(CUfunction f, int attr, int value) {
  ENTER();
  (void)value;
  LOCK();
  struct spw_function *fn;
  CUresult r = resolve_function(f, &fn);
  UNLOCK();
  if (r != CUDA_SUCCESS) {
    return r;
  }
  if (attr == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES ||
      attr == CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT) {
    return CUDA_SUCCESS; /* the node sizes shared memory per launch */
  }
  spw_unsupported("cuFuncSetAttribute (this attribute)");
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuKernelSetAttribute(int attr, int value, CUkernel k, CUdevice d) {
  (void)d;
  return cuFuncSetAttribute((CUfunction)k, attr, value);
}

EXPORT CUresult cuFuncSetCacheConfig(CUfunction f, int cfg) {
  (void)f;
  (void)cfg;
  ENTER();
  return CUDA_SUCCESS; /* a preference, as for the context */
}

EXPORT CUresult cuKernelSetCacheConfig(CUkernel k, int cfg, CUdevice d) {
  (void)k;
  (void)cfg;
  (void)d;
  ENTER();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncGetModule(CUmodule *m, CUfunction f) {
  ENTER();
  if (m == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  LOCK();
  struct spw_function *fn;
  CUresult r = resolve_function(f, &fn);
  if (r == CUDA_SUCCESS) {
    *m = fn->module;
  }
  UNLOCK();
  return r;
}

EXPORT CUresult cuFuncIsLoaded(int *state, CUfunction f) {
  ENTER();
  if (state == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  (void)f;
  *state = 1; /* CU_FUNCTION_LOADING_STATE_LOADED */
  return CUDA_SUCCESS;
}

EXPORT CUresult cuFuncLoad(CUfunction f) {
  ENTER();
  LOCK();
  struct spw_function *fn;
  CUresult r = resolve_function(f, &fn);
  UNLOCK();
  return r;
}

/* ---------------------------------------------------------------- launch */

static CUresult launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                       unsigned bz, unsigned shared, CUstream s, void **params, void **extra) {
  ENTER();
  if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  CUresult r;
  struct spw_ctx *c = stream_ctx(s, &r);
  if (c == NULL) {
    return r;
  }
  LOCK();
  struct spw_function *fn;
  r = resolve_function(f, &fn);
  if (r != CUDA_SUCCESS) {
    UNLOCK();
    return r;
  }
  if (fn->module->ctx != c) {
    UNLOCK();
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  const void *buf = NULL;
  size_t buf_len = 0;
  if (extra != NULL) {
    for (void **e = extra; *e != CU_LAUNCH_PARAM_END; e += 2) {
      if (e[0] == CU_LAUNCH_PARAM_BUFFER_POINTER) {
        buf = e[1];
      } else if (e[0] == CU_LAUNCH_PARAM_BUFFER_SIZE) {
        buf_len = *(size_t *)e[1];
      } else {
        UNLOCK();
        return CUDA_ERROR_INVALID_VALUE;
      }
    }
    if (params != NULL || buf == NULL || buf_len < fn->param_bytes) {
      UNLOCK();
      return CUDA_ERROR_INVALID_VALUE;
    }
  } else if (params == NULL && fn->nparams > 0) {
    UNLOCK();
    return CUDA_ERROR_INVALID_VALUE;
  }
  spw_begin(SPW_LAUNCH);
  put_cd(c);
  spw_put32(fn->remote);
  spw_put32(gx);
  spw_put32(gy);
  spw_put32(gz);
  spw_put32(bx);
  spw_put32(by);
  spw_put32(bz);
  spw_put32(shared);
  spw_put32(fn->param_bytes);
  if (buf != NULL) {
    spw_put(buf, fn->param_bytes);
  } else {
    /* One raw buffer laid out as the kernel declares: each argument copied by its size. */
    uint8_t raw[4096 + 64];
    uint8_t *rb = fn->param_bytes <= sizeof raw ? raw : calloc(1, fn->param_bytes);
    if (rb == NULL) {
      UNLOCK();
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    memset(rb, 0, fn->param_bytes);
    for (uint32_t i = 0; i < fn->nparams; i++) {
      memcpy(rb + fn->offsets[i], params[i], fn->sizes[i]);
    }
    spw_put(rb, fn->param_bytes);
    if (rb != raw) {
      free(rb);
    }
  }
  spw_end();
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               unsigned bz, unsigned shared, CUstream s, void **params, void **extra) {
  return launch(f, gx, gy, gz, bx, by, bz, shared, s, params, extra);
}

EXPORT CUresult cuLaunchKernelEx(const CUlaunchConfig *cfg, CUfunction f, void **params, void **extra) {
  if (cfg == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (cfg->numAttrs != 0) {
    spw_unsupported("cuLaunchKernelEx with launch attributes");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return launch(f, cfg->gridDimX, cfg->gridDimY, cfg->gridDimZ, cfg->blockDimX, cfg->blockDimY,
                cfg->blockDimZ, cfg->sharedMemBytes, cfg->hStream, params, extra);
}

EXPORT CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *n, CUfunction f, int block, size_t smem) {
  ENTER();
  (void)f;
  (void)smem;
  if (n == NULL || block <= 0) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *n = 2048 / block > 0 ? 2048 / block : 1;
  if (*n > 32) {
    *n = 32;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *n, CUfunction f, int block, size_t smem,
                                                                     unsigned flags) {
  (void)flags;
  return cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, block, smem);
}

/* ---------------------------------------------------------------- streams and events */

/* A session runs its work in order, so every stream of a context is ordered after all earlier work of
 * that context: stronger than CUDA promises, never weaker. */
EXPORT CUresult cuStreamCreate(CUstream *s, unsigned int flags) {
  ENTER();
  if (s == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  struct spw_stream *x = calloc(1, sizeof *x);
  if (x == NULL) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  x->magic = MAGIC_STR;
  x->ctx = c;
  x->flags = flags;
  *s = x;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamCreateWithPriority(CUstream *s, unsigned int flags, int prio) {
  CUresult r = cuStreamCreate(s, flags);
  if (r == CUDA_SUCCESS) {
    (*s)->priority = prio;
  }
  return r;
}

EXPORT CUresult cuStreamDestroy_v2(CUstream s) {
  ENTER();
  if (s == NULL || s->magic != MAGIC_STR) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  s->magic = MAGIC_DEAD; /* kept: work queued on it still runs, in session order */
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamSynchronize(CUstream s) {
  CUresult r;
  ENTER();
  struct spw_ctx *c = stream_ctx(s, &r);
  if (c == NULL) {
    return r;
  }
  LOCK();
  r = sync_ctx(c);
  UNLOCK();
  return r;
}

EXPORT CUresult cuStreamQuery(CUstream s) {
  /* Answered by synchronizing: once it returns, the stream's work is done, so "ready" is true. */
  return cuStreamSynchronize(s);
}

EXPORT CUresult cuStreamGetFlags(CUstream s, unsigned int *flags) {
  ENTER();
  if (flags == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (s == NULL || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD) {
    *flags = 0;
    return CUDA_SUCCESS;
  }
  if (s->magic != MAGIC_STR) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  *flags = s->flags;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamGetPriority(CUstream s, int *prio) {
  ENTER();
  if (prio == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (s == NULL || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD) {
    *prio = 0;
    return CUDA_SUCCESS;
  }
  if (s->magic != MAGIC_STR) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  *prio = s->priority;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamGetCtx(CUstream s, CUcontext *c) {
  CUresult r;
  ENTER();
  if (c == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *c = stream_ctx(s, &r);
  return r;
}

EXPORT CUresult cuStreamGetId(CUstream s, unsigned long long *id) {
  ENTER();
  if (id == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  *id = (unsigned long long)(uintptr_t)s;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamGetDevice(CUstream s, CUdevice *d) {
  CUresult r;
  ENTER();
  if (d == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  struct spw_ctx *c = stream_ctx(s, &r);
  if (c != NULL) {
    *d = c->device;
  }
  return r;
}

EXPORT CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) {
  CUresult r;
  ENTER();
  (void)flags;
  if (e == NULL || e->magic != MAGIC_EVT) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  struct spw_ctx *c = stream_ctx(s, &r);
  if (c == NULL) {
    return r;
  }
  if (c == e->ctx) {
    return CUDA_SUCCESS; /* one context: already ordered */
  }
  LOCK();
  r = sync_ctx(e->ctx); /* across contexts (sessions): wait for the event's side here */
  UNLOCK();
  return r;
}

EXPORT CUresult cuEventCreate(CUevent *e, unsigned int flags) {
  ENTER();
  if (e == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  struct spw_ctx *c = current();
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  struct spw_event *x = calloc(1, sizeof *x);
  if (x == NULL) {
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  LOCK();
  x->magic = MAGIC_EVT;
  x->ctx = c;
  x->id = next_event_id++;
  x->flags = flags;
  UNLOCK();
  *e = x;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuEventRecord(CUevent e, CUstream s) {
  CUresult r;
  ENTER();
  if (e == NULL || e->magic != MAGIC_EVT) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  struct spw_ctx *c = stream_ctx(s, &r);
  if (c == NULL) {
    return r;
  }
  if (c != e->ctx) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  spw_begin(SPW_EVENT_RECORD);
  put_cd(c);
  spw_put32(e->id);
  spw_end();
  e->recorded = 1;
  UNLOCK();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuEventRecordWithFlags(CUevent e, CUstream s, unsigned int flags) {
  (void)flags;
  return cuEventRecord(e, s);
}

EXPORT CUresult cuEventSynchronize(CUevent e) {
  ENTER();
  if (e == NULL || e->magic != MAGIC_EVT) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  LOCK();
  CUresult r = sync_ctx(e->ctx);
  UNLOCK();
  return r;
}

EXPORT CUresult cuEventQuery(CUevent e) { return cuEventSynchronize(e); }

EXPORT CUresult cuEventElapsedTime(float *ms, CUevent a, CUevent b) {
  ENTER();
  if (ms == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (a == NULL || a->magic != MAGIC_EVT || b == NULL || b->magic != MAGIC_EVT || a->ctx != b->ctx) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  if ((a->flags | b->flags) & CU_EVENT_DISABLE_TIMING) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  if (!a->recorded || !b->recorded) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  LOCK();
  spw_begin(SPW_EVENT_ELAPSED);
  put_cd(a->ctx);
  spw_put32(a->id);
  spw_put32(b->id);
  spw_end();
  const uint8_t *p;
  size_t n;
  CUresult r = spw_call(&p, &n);
  if (r == CUDA_SUCCESS) {
    memcpy(ms, p, 4);
  }
  UNLOCK();
  return r;
}

EXPORT CUresult cuEventElapsedTime_v2(float *ms, CUevent a, CUevent b) { return cuEventElapsedTime(ms, a, b); }

EXPORT CUresult cuEventDestroy_v2(CUevent e) {
  ENTER();
  if (e == NULL || e->magic != MAGIC_EVT) {
    return CUDA_ERROR_INVALID_HANDLE;
  }
  LOCK();
  if (valid_ctx(e->ctx)) {
    spw_begin(SPW_EVENT_DESTROY);
    put_cd(e->ctx);
    spw_put32(e->id);
    spw_end();
  }
  e->magic = MAGIC_DEAD;
  UNLOCK();
  free(e);
  return CUDA_SUCCESS;
}

/* ---------------------------------------------------------------- runtime-internal export tables */

/* Entries of the runtime's internal tables the shim has no meaning for answer NOT_SUPPORTED and say which
 * slot was called: the runtime calls them with arguments the shim cannot know, so it never pretends. */
#define SLOT_STUB(table, i)                                          \
  static CUresult table##_slot##i(void) {                            \
    spw_unsupported("export table " #table " entry " #i);            \
    return CUDA_ERROR_NOT_SUPPORTED;                                 \
  }

SLOT_STUB(cudart, 3)
SLOT_STUB(cudart, 4)
SLOT_STUB(cudart, 5)
SLOT_STUB(cudart, 9)
SLOT_STUB(cudart, 10)
SLOT_STUB(cudart, 11)
SLOT_STUB(hooks, 1)
SLOT_STUB(hooks, 3)
SLOT_STUB(hooks, 4)
SLOT_STUB(hooks, 5)
SLOT_STUB(tls, 1)
SLOT_STUB(tls, 2)
SLOT_STUB(tls, 3)
SLOT_STUB(cls, 3)
SLOT_STUB(integrity, 2)
SLOT_STUB(checks, 1)

static CUresult et_module_from_cubin(CUmodule *m, const void *wrapper) {
  ENTER();
  return cuModuleLoadData(m, wrapper);
}

static CUresult et_primary_ctx(CUcontext *c, CUdevice d) { return cuDevicePrimaryCtxRetain(c, d); }

static CUresult et_module_from_cubin_ext1(CUmodule *m, const void *wrapper, void *a3, void *a4, unsigned a5) {
  if (a3 != NULL || a4 != NULL || a5 != 0) {
    spw_unsupported("export table cudart entry 6 with options");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return cuModuleLoadData(m, wrapper);
}

static void et_cudart_fn7(size_t a) { (void)a; }

static CUresult et_module_from_cubin_ext2(const void *fatbin, CUmodule *m, void *a3, void *a4, unsigned a5) {
  if (a3 != NULL || a4 != NULL || a5 != 0) {
    spw_unsupported("export table cudart entry 8 with options");
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  return cuModuleLoadData(m, fatbin);
}

static CUresult et_load_compilers(void) { return CUDA_SUCCESS; /* the node compiles; nothing to load here */ }

static uint32_t hook_buffer1[1024];
static uint32_t hook_buffer2[14];

static void et_hook_buffer1(void **p, size_t *n) {
  *p = hook_buffer1;
  *n = sizeof hook_buffer1 / sizeof hook_buffer1[0];
}

static void et_hook_buffer2(void **p, size_t *n) {
  *p = hook_buffer2;
  *n = sizeof hook_buffer2 / sizeof hook_buffer2[0];
}

/* Context-local storage the runtime keeps its per-context state in. */
typedef void (*cls_dtor)(CUcontext, void *, void *);
struct cls_entry {
  CUcontext ctx;
  void *key;
  void *value;
  cls_dtor dtor;
};
static struct cls_entry cls[256];
static unsigned ncls;

static CUresult et_cls_put(CUcontext c, void *key, void *value, cls_dtor dtor) {
  if (c == NULL) {
    c = current();
  }
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  for (unsigned i = 0; i < ncls; i++) {
    if (cls[i].ctx == c && cls[i].key == key) {
      cls[i].value = value;
      cls[i].dtor = dtor;
      UNLOCK();
      return CUDA_SUCCESS;
    }
  }
  if (ncls == sizeof cls / sizeof cls[0]) {
    UNLOCK();
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  cls[ncls++] = (struct cls_entry){c, key, value, dtor};
  UNLOCK();
  return CUDA_SUCCESS;
}

static CUresult et_cls_delete(CUcontext c, void *key) {
  if (c == NULL) {
    c = current();
  }
  LOCK();
  for (unsigned i = 0; i < ncls; i++) {
    if (cls[i].ctx == c && cls[i].key == key) {
      cls[i] = cls[--ncls];
      break;
    }
  }
  UNLOCK();
  return CUDA_SUCCESS;
}

static CUresult et_cls_get(void **value, CUcontext c, void *key) {
  if (c == NULL) {
    c = current();
  }
  if (!valid_ctx(c)) {
    return CUDA_ERROR_INVALID_CONTEXT;
  }
  LOCK();
  for (unsigned i = 0; i < ncls; i++) {
    if (cls[i].ctx == c && cls[i].key == key) {
      *value = cls[i].value;
      UNLOCK();
      return CUDA_SUCCESS;
    }
  }
  UNLOCK();
  return CUDA_ERROR_INVALID_HANDLE;
}

static CUresult et_ctx_create_bypass(CUcontext *c, unsigned flags, CUdevice d) { return ctx_create(c, flags, d); }

static CUresult et_context_check(CUcontext c, uint32_t *r1, const void **r2) {
  (void)c;
  (void)r2;
  if (r1 != NULL) {
    *r1 = 0;
  }
  return CUDA_SUCCESS;
}

static uint32_t et_check_fn3(void) { return 0; }

static CUresult et_integrity(uint32_t version, uint64_t unix_seconds, uint64_t out[2]);

#define FN(f) ((const void *)(uintptr_t)(f))

static const void *T_CUDART[13] = {
    (const void *)(13 * sizeof(void *)), FN(et_module_from_cubin), FN(et_primary_ctx), FN(cudart_slot3),
    FN(cudart_slot4), FN(cudart_slot5), FN(et_module_from_cubin_ext1), FN(et_cudart_fn7),
    FN(et_module_from_cubin_ext2), FN(cudart_slot9), FN(cudart_slot10), FN(cudart_slot11),
    FN(et_load_compilers)};
static const void *T_TOOLS_TLS[4] = {(const void *)(4 * sizeof(void *)), FN(tls_slot1), FN(tls_slot2),
                                     FN(tls_slot3)};
static const void *T_HOOKS[7] = {(const void *)(7 * sizeof(void *)), FN(hooks_slot1), FN(et_hook_buffer1),
                                 FN(hooks_slot3), FN(hooks_slot4), FN(hooks_slot5), FN(et_hook_buffer2)};
static const void *T_CLS[4] = {FN(et_cls_put), FN(et_cls_delete), FN(et_cls_get), FN(cls_slot3)};
static const void *T_BYPASS[2] = {(const void *)(2 * sizeof(void *)), FN(et_ctx_create_bypass)};
static const void *T_INTEGRITY[3] = {(const void *)(3 * sizeof(void *)), FN(et_integrity), FN(integrity_slot2)};
static const void *T_CHECKS[4] = {(const void *)(4 * sizeof(void *)), FN(checks_slot1), FN(et_context_check),
                                  FN(et_check_fn3)};

static CUresult et_integrity(uint32_t version, uint64_t unix_seconds, uint64_t out[2]) {
  struct spw_integrity_device devs[SPW_MAX_DEVICES];
  for (int d = 0; d < spw_device_count; d++) {
    memcpy(devs[d].uuid, spw_devices[d].uuid, 16);
    devs[d].pci_domain = spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID];
    devs[d].pci_bus = spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_PCI_BUS_ID];
    devs[d].pci_device = spw_devices[d].attrs[CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID];
  }
  struct spw_integrity_input in = {SPW_DRIVER_VERSION, version, unix_seconds, (uint32_t)getpid(),
                                   (uint32_t)pthread_self(), T_CUDART, T_INTEGRITY, FN(et_integrity),
                                   (unsigned)spw_device_count, devs};
  spw_trace("integrity check: version %u, time %llu", version, (unsigned long long)unix_seconds);
  spw_integrity(&in, out);
  return CUDA_SUCCESS;
}

struct table {
  uint8_t uuid[16];
  const char *name;
  const void *table;
};

static const struct table TABLES[] = {
    {{0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a, 0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9}, "cudart interface", T_CUDART},
    {{0x42, 0xd8, 0x5a, 0x81, 0x23, 0xf6, 0xcb, 0x47, 0x82, 0x98, 0xf6, 0xe7, 0x8a, 0x3a, 0xec, 0xdc}, "tools TLS", T_TOOLS_TLS},
    {{0xa0, 0x94, 0x79, 0x8c, 0x2e, 0x74, 0x2e, 0x74, 0x93, 0xf2, 0x08, 0x00, 0x20, 0x0c, 0x0a, 0x66}, "tools runtime callback hooks", T_HOOKS},
    {{0xc6, 0x93, 0x33, 0x6e, 0x11, 0x21, 0xdf, 0x11, 0xa8, 0xc3, 0x68, 0xf3, 0x55, 0xd8, 0x95, 0x93}, "context-local storage", T_CLS},
    {{0x0c, 0xa5, 0x0b, 0x8c, 0x10, 0x04, 0x92, 0x9a, 0x89, 0xa7, 0xd0, 0xdf, 0x10, 0xe7, 0x72, 0x86}, "context create bypass", T_BYPASS},
    {{0xd4, 0x08, 0x20, 0x55, 0xbd, 0xe6, 0x70, 0x4b, 0x8d, 0x34, 0xba, 0x12, 0x3c, 0x66, 0xe1, 0xf2}, "integrity check", T_INTEGRITY},
    {{0x26, 0x3e, 0x88, 0x60, 0x7c, 0xd2, 0x61, 0x43, 0x92, 0xf6, 0xbb, 0xd5, 0x00, 0x6d, 0xfa, 0x7e}, "context checks", T_CHECKS},
};

EXPORT CUresult cuGetExportTable(const void **out, const CUuuid *id) {
  if (out == NULL || id == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  char hex[33];
  for (int i = 0; i < 16; i++) {
    snprintf(hex + 2 * i, 3, "%02x", (uint8_t)id->bytes[i]);
  }
  for (size_t i = 0; i < sizeof TABLES / sizeof TABLES[0]; i++) {
    if (memcmp(TABLES[i].uuid, id->bytes, 16) == 0) {
      spw_trace("cuGetExportTable %s (%s): provided", hex, TABLES[i].name);
      *out = TABLES[i].table;
      return CUDA_SUCCESS;
    }
  }
  spw_trace("cuGetExportTable %s: unknown, CUDA_ERROR_NOT_SUPPORTED", hex);
  *out = NULL;
  return CUDA_ERROR_NOT_SUPPORTED;
}

/* ---------------------------------------------------------------- cuGetProcAddress */

#define X(name)                                   \
  static CUresult stub_##name(void) {             \
    spw_unsupported(#name);                       \
    return CUDA_ERROR_NOT_SUPPORTED;              \
  }
#include "api_names.h"
#undef X

struct named {
  const char *name;
  const void *fn;
};
static const struct named STUBS[] = {
#define X(name) {#name, FN(stub_##name)},
#include "api_names.h"
#undef X
};

EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, uint64_t flags, int *status);

/* Implemented entry points: a name with the first API version (as cuGetProcAddress passes it) whose
 * signature the function has. A request picks the newest entry not newer than its version. */
struct proc {
  const char *name;
  int since;
  const void *fn;
};
static const struct proc PROCS[] = {
    {"cuInit", 2000, FN(cuInit)},
    {"cuDriverGetVersion", 2020, FN(cuDriverGetVersion)},
    {"cuGetErrorName", 6000, FN(cuGetErrorName)},
    {"cuGetErrorString", 6000, FN(cuGetErrorString)},
    {"cuGetExportTable", 3000, FN(cuGetExportTable)},
    {"cuGetProcAddress", 12000, FN(cuGetProcAddress_v2)},
    {"cuDeviceGet", 2000, FN(cuDeviceGet)},
    {"cuDeviceGetCount", 2000, FN(cuDeviceGetCount)},
    {"cuDeviceGetName", 2000, FN(cuDeviceGetName)},
    {"cuDeviceGetUuid", 9020, FN(cuDeviceGetUuid)},
    {"cuDeviceGetUuid", 11040, FN(cuDeviceGetUuid_v2)},
    {"cuDeviceGetLuid", 10000, FN(cuDeviceGetLuid)},
    {"cuDeviceTotalMem", 3020, FN(cuDeviceTotalMem_v2)},
    {"cuDeviceGetAttribute", 2000, FN(cuDeviceGetAttribute)},
    {"cuDeviceComputeCapability", 2000, FN(cuDeviceComputeCapability)},
    {"cuDeviceCanAccessPeer", 4000, FN(cuDeviceCanAccessPeer)},
    {"cuDeviceGetPCIBusId", 4010, FN(cuDeviceGetPCIBusId)},
    {"cuDevicePrimaryCtxRetain", 7000, FN(cuDevicePrimaryCtxRetain)},
    {"cuDevicePrimaryCtxRelease", 7000, FN(cuDevicePrimaryCtxRelease_v2)},
    {"cuDevicePrimaryCtxSetFlags", 7000, FN(cuDevicePrimaryCtxSetFlags_v2)},
    {"cuDevicePrimaryCtxGetState", 7000, FN(cuDevicePrimaryCtxGetState)},
    {"cuDevicePrimaryCtxReset", 7000, FN(cuDevicePrimaryCtxReset_v2)},
    {"cuCtxCreate", 3020, FN(cuCtxCreate_v2)},
    {"cuCtxCreate", 12050, FN(cuCtxCreate_v4)},
    {"cuCtxDestroy", 4000, FN(cuCtxDestroy_v2)},
    {"cuCtxGetCurrent", 4000, FN(cuCtxGetCurrent)},
    {"cuCtxSetCurrent", 4000, FN(cuCtxSetCurrent)},
    {"cuCtxPushCurrent", 4000, FN(cuCtxPushCurrent_v2)},
    {"cuCtxPopCurrent", 4000, FN(cuCtxPopCurrent_v2)},
    {"cuCtxGetDevice", 2000, FN(cuCtxGetDevice)},
    {"cuCtxGetDevice", 13000, FN(cuCtxGetDevice_v2)},
    {"cuCtxGetFlags", 7000, FN(cuCtxGetFlags)},
    {"cuCtxSetFlags", 12010, FN(cuCtxSetFlags)},
    {"cuCtxGetId", 12000, FN(cuCtxGetId)},
    {"cuCtxGetApiVersion", 3020, FN(cuCtxGetApiVersion)},
    {"cuCtxSynchronize", 2000, FN(cuCtxSynchronize)},
    {"cuCtxSynchronize", 13000, FN(cuCtxSynchronize_v2)},
    {"cuCtxGetLimit", 3010, FN(cuCtxGetLimit)},
    {"cuCtxSetLimit", 3010, FN(cuCtxSetLimit)},
    {"cuCtxGetCacheConfig", 3020, FN(cuCtxGetCacheConfig)},
    {"cuCtxSetCacheConfig", 3020, FN(cuCtxSetCacheConfig)},
    {"cuCtxGetStreamPriorityRange", 5050, FN(cuCtxGetStreamPriorityRange)},
    {"cuMemAlloc", 3020, FN(cuMemAlloc_v2)},
    {"cuMemAllocPitch", 3020, FN(cuMemAllocPitch_v2)},
    {"cuMemFree", 3020, FN(cuMemFree_v2)},
    {"cuMemGetInfo", 3020, FN(cuMemGetInfo_v2)},
    {"cuMemGetAddressRange", 3020, FN(cuMemGetAddressRange_v2)},
    {"cuMemHostAlloc", 2020, FN(cuMemHostAlloc)},
    {"cuMemAllocHost", 3020, FN(cuMemAllocHost_v2)},
    {"cuMemFreeHost", 2000, FN(cuMemFreeHost)},
    {"cuMemHostGetFlags", 2030, FN(cuMemHostGetFlags)},
    {"cuMemHostRegister", 6050, FN(cuMemHostRegister_v2)},
    {"cuMemHostUnregister", 4000, FN(cuMemHostUnregister)},
    {"cuMemcpy", 4000, FN(cuMemcpy)},
    {"cuMemcpyAsync", 4000, FN(cuMemcpyAsync)},
    {"cuMemcpyHtoD", 3020, FN(cuMemcpyHtoD_v2)},
    {"cuMemcpyHtoDAsync", 3020, FN(cuMemcpyHtoDAsync_v2)},
    {"cuMemcpyDtoH", 3020, FN(cuMemcpyDtoH_v2)},
    {"cuMemcpyDtoHAsync", 3020, FN(cuMemcpyDtoHAsync_v2)},
    {"cuMemcpyDtoD", 3020, FN(cuMemcpyDtoD_v2)},
    {"cuMemcpyDtoDAsync", 3020, FN(cuMemcpyDtoDAsync_v2)},
    {"cuMemsetD8", 3020, FN(cuMemsetD8_v2)},
    {"cuMemsetD16", 3020, FN(cuMemsetD16_v2)},
    {"cuMemsetD32", 3020, FN(cuMemsetD32_v2)},
    {"cuMemsetD8Async", 3020, FN(cuMemsetD8Async)},
    {"cuMemsetD16Async", 3020, FN(cuMemsetD16Async)},
    {"cuMemsetD32Async", 3020, FN(cuMemsetD32Async)},
    {"cuPointerGetAttribute", 4000, FN(cuPointerGetAttribute)},
    {"cuModuleLoad", 2000, FN(cuModuleLoad)},
    {"cuModuleLoadData", 2000, FN(cuModuleLoadData)},
    {"cuModuleLoadDataEx", 2010, FN(cuModuleLoadDataEx)},
    {"cuModuleLoadFatBinary", 2000, FN(cuModuleLoadFatBinary)},
    {"cuModuleUnload", 2000, FN(cuModuleUnload)},
    {"cuModuleGetFunction", 2000, FN(cuModuleGetFunction)},
    {"cuModuleGetGlobal", 3020, FN(cuModuleGetGlobal_v2)},
    {"cuModuleGetLoadingMode", 11070, FN(cuModuleGetLoadingMode)},
    {"cuLibraryLoadData", 12000, FN(cuLibraryLoadData)},
    {"cuLibraryLoadFromFile", 12000, FN(cuLibraryLoadFromFile)},
    {"cuLibraryUnload", 12000, FN(cuLibraryUnload)},
    {"cuLibraryGetKernel", 12000, FN(cuLibraryGetKernel)},
    {"cuLibraryGetModule", 12000, FN(cuLibraryGetModule)},
    {"cuLibraryGetGlobal", 12000, FN(cuLibraryGetGlobal)},
    {"cuKernelGetFunction", 12000, FN(cuKernelGetFunction)},
    {"cuKernelGetName", 12030, FN(cuKernelGetName)},
    {"cuKernelGetParamInfo", 12040, FN(cuKernelGetParamInfo)},
    {"cuKernelGetAttribute", 12000, FN(cuKernelGetAttribute)},
    {"cuKernelSetAttribute", 12000, FN(cuKernelSetAttribute)},
    {"cuKernelSetCacheConfig", 12000, FN(cuKernelSetCacheConfig)},
    {"cuFuncGetName", 12030, FN(cuFuncGetName)},
    {"cuFuncGetParamInfo", 12040, FN(cuFuncGetParamInfo)},
    {"cuFuncGetAttribute", 2020, FN(cuFuncGetAttribute)},
    {"cuFuncSetAttribute", 9000, FN(cuFuncSetAttribute)},
    {"cuFuncSetCacheConfig", 3000, FN(cuFuncSetCacheConfig)},
    {"cuFuncGetModule", 11000, FN(cuFuncGetModule)},
    {"cuFuncIsLoaded", 12040, FN(cuFuncIsLoaded)},
    {"cuFuncLoad", 12040, FN(cuFuncLoad)},
    {"cuLaunchKernel", 4000, FN(cuLaunchKernel)},
    {"cuLaunchKernelEx", 11060, FN(cuLaunchKernelEx)},
    {"cuOccupancyMaxActiveBlocksPerMultiprocessor", 6050, FN(cuOccupancyMaxActiveBlocksPerMultiprocessor)},
    {"cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags", 7000,
     FN(cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags)},
    {"cuStreamCreate", 2000, FN(cuStreamCreate)},
    {"cuStreamCreateWithPriority", 5050, FN(cuStreamCreateWithPriority)},
    {"cuStreamDestroy", 4000, FN(cuStreamDestroy_v2)},
    {"cuStreamSynchronize", 2000, FN(cuStreamSynchronize)},
    {"cuStreamQuery", 2000, FN(cuStreamQuery)},
    {"cuStreamGetFlags", 5050, FN(cuStreamGetFlags)},
    {"cuStreamGetPriority", 5050, FN(cuStreamGetPriority)},
    {"cuStreamGetCtx", 9020, FN(cuStreamGetCtx)},
    {"cuStreamGetId", 12000, FN(cuStreamGetId)},
    {"cuStreamGetDevice", 12080, FN(cuStreamGetDevice)},
    {"cuStreamWaitEvent", 3020, FN(cuStreamWaitEvent)},
    {"cuEventCreate", 2000, FN(cuEventCreate)},
    {"cuEventRecord", 2000, FN(cuEventRecord)},
    {"cuEventRecordWithFlags", 11010, FN(cuEventRecordWithFlags)},
    {"cuEventQuery", 2000, FN(cuEventQuery)},
    {"cuEventSynchronize", 2000, FN(cuEventSynchronize)},
    {"cuEventElapsedTime", 2000, FN(cuEventElapsedTime)},
    {"cuEventElapsedTime", 12080, FN(cuEventElapsedTime_v2)},
    {"cuEventDestroy", 4000, FN(cuEventDestroy_v2)},
};

EXPORT CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, uint64_t flags, int *status) {
  if (symbol == NULL || pfn == NULL) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  const struct proc *best = NULL;
  int known = 0;
  for (size_t i = 0; i < sizeof PROCS / sizeof PROCS[0]; i++) {
    if (strcmp(PROCS[i].name, symbol) == 0) {
      known = 1;
      if (PROCS[i].since <= version && (best == NULL || PROCS[i].since > best->since)) {
        best = &PROCS[i];
      }
    }
  }
  const void *fn = best ? best->fn : NULL;
  if (fn == NULL) {
    /* Known but older than any signature implemented, or not implemented: a stub that says so. */
    for (size_t i = 0; i < sizeof STUBS / sizeof STUBS[0]; i++) {
      if (strcmp(STUBS[i].name, symbol) == 0) {
        fn = STUBS[i].fn;
        break;
      }
    }
  }
  spw_trace("cuGetProcAddress %s version %d flags %llu: %s", symbol, version, (unsigned long long)flags,
            best ? "implemented" : fn ? "unsupported stub" : "unknown");
  if (fn == NULL) {
    *pfn = NULL;
    if (status != NULL) {
      *status = known ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT : CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    }
    return CUDA_ERROR_NOT_FOUND;
  }
  *pfn = (void *)(uintptr_t)fn;
  if (status != NULL) {
    *status = CU_GET_PROC_ADDRESS_SUCCESS;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, uint64_t flags) {
  return cuGetProcAddress_v2(symbol, pfn, version, flags, NULL);
}
