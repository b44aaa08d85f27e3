/*
 * The shim's one connection to the agent: a send buffer of batched requests, the shared memory for
 * bulk data, and synchronous calls. Every function here must be called with spw_lock held; the lock
 * serializes all threads of the process (CUDA calls come from many), so the request order on the socket
 * is the order in which the calls took the lock.
 */
#ifndef SPILLWAY_CONN_H
#define SPILLWAY_CONN_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda_abi.h"

extern pthread_mutex_t spw_lock;

/* Connects, maps the shared memory, reserves the device address range and says hello. */
CUresult spw_conn_open(void);

/* Starts a request; the payload follows through spw_put*; spw_end finishes it. */
void spw_begin(uint32_t op);
void spw_put(const void *data, size_t len);
void spw_put32(uint32_t v);
void spw_put64(uint64_t v);
void spw_end(void);

/* Sends what is batched and waits for the reply to the last (synchronous) request. On success the
 * reply payload is at *payload (valid until the next call) with *len bytes. A failure's diagnosis is
 * logged. */
CUresult spw_call(const uint8_t **payload, size_t *len);

/* Sends what is batched without waiting. */
CUresult spw_flush(void);

/* Shared memory: a region of `len` bytes for data the next requests carry. May send a fence (one round
 * trip) when the region wraps. Returns NULL when len exceeds spw_shm_capacity(). */
uint8_t *spw_shm_reserve(size_t len, uint64_t *offset);
size_t spw_shm_capacity(void);
uint8_t *spw_shm_at(uint64_t offset);

/* The reserved device address range: [base, base + bytes). No host mapping can lie in it. */
uint64_t spw_va_base(void);
uint64_t spw_va_bytes(void);

/* Logs once per name (and once to the agent): a call the shim does not implement. */
void spw_unsupported(const char *name);
/* Logs a line to stderr when SPILLWAY_SHIM_LOG is set (trace) or always (warn). */
void spw_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void spw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int spw_tracing(void);

/* Devices as the agent described them at hello. */
#define SPW_MAX_DEVICES 16
#define SPW_MAX_ATTRS 256
struct spw_device {
  char name[256];
  uint8_t uuid[16];
  uint64_t memory;
  int32_t attrs[SPW_MAX_ATTRS];
};
extern int spw_device_count;
extern struct spw_device spw_devices[SPW_MAX_DEVICES];

#endif
