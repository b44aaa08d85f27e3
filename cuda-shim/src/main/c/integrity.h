#ifndef SPILLWAY_INTEGRITY_H
#define SPILLWAY_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

struct spw_integrity_device {
  uint8_t uuid[16];
  int32_t pci_domain, pci_bus, pci_device;
};

struct spw_integrity_input {
  uint32_t driver_version; /* what cuDriverGetVersion reports */
  uint32_t version;        /* the caller's argument */
  uint64_t unix_seconds;   /* the caller's argument */
  uint32_t process;        /* getpid() */
  uint32_t thread;         /* pthread_self(), truncated */
  const void *cudart_table;
  const void *integrity_table;
  const void *function;    /* the address of the integrity function itself */
  unsigned device_count;
  const struct spw_integrity_device *devices;
};

/* MD2 of data (RFC 1319). */
void spw_md2(const void *data, size_t len, uint8_t out[16]);

/* The 16 bytes the runtime expects, as two native-endian words. */
void spw_integrity(const struct spw_integrity_input *in, uint64_t out[2]);

#endif
