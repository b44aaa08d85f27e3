/*
 * The answer to the CUDA runtime's integrity check (export table D4082055-BDE6-704B-8D34-BA123C66E1F2,
 * entry 1). The runtime calls it with a version and the time and compares the 16 bytes it gets with
 * what it computes itself. Public analyses of the driver (ZLUDA's) show the computation is HMAC over
 * MD2 (RFC 1319) with a fixed 16-byte key, of a record naming the driver version, the caller's version,
 * process, thread, the addresses of two export tables and of the function itself, the time, and then
 * each device's UUID and PCI location. Versions ending in 0 or 1 get fixed answers.
 *
 * MD2 below is written from RFC 1319 (the S table is the RFC's, digits of pi).
 */
#include "integrity.h"

#include <string.h>

static const uint8_t MD2_S[256] = {
    41,  46,  67,  201, 162, 216, 124, 1,   61,  54,  84,  161, 236, 240, 6,   19,  98,  167, 5,
    243, 192, 199, 115, 140, 152, 147, 43,  217, 188, 76,  130, 202, 30,  155, 87,  60,  253, 212,
    224, 22,  103, 66,  111, 24,  138, 23,  229, 18,  190, 78,  196, 214, 218, 158, 222, 73,  160,
    251, 245, 142, 187, 47,  238, 122, 169, 104, 121, 145, 21,  178, 7,   63,  148, 194, 16,  137,
    11,  34,  95,  33,  128, 127, 93,  154, 90,  144, 50,  39,  53,  62,  204, 231, 191, 247, 151,
    3,   255, 25,  48,  179, 72,  165, 181, 209, 215, 94,  146, 42,  172, 86,  170, 198, 79,  184,
    56,  210, 150, 164, 125, 182, 118, 252, 107, 226, 156, 116, 4,   241, 69,  157, 112, 89,  100,
    113, 135, 32,  134, 91,  207, 101, 230, 45,  168, 2,   27,  96,  37,  173, 174, 176, 185, 246,
    28,  70,  97,  105, 52,  64,  126, 15,  85,  71,  163, 35,  221, 81,  175, 58,  195, 92,  249,
    206, 186, 197, 234, 38,  44,  83,  13,  110, 133, 40,  132, 9,   211, 223, 205, 244, 65,  129,
    77,  82,  106, 220, 55,  200, 108, 193, 171, 250, 36,  225, 123, 8,   12,  189, 177, 74,  120,
    136, 149, 139, 227, 99,  232, 109, 233, 203, 213, 254, 59,  0,   29,  57,  242, 239, 183, 14,
    102, 88,  208, 228, 166, 119, 114, 248, 235, 117, 75,  10,  49,  68,  80,  180, 143, 237, 31,
    26,  219, 153, 141, 51,  159, 17,  131, 20};

typedef struct {
  uint8_t x[48];    /* state */
  uint8_t c[16];    /* checksum */
  uint8_t buf[16];  /* pending block */
  unsigned n;       /* bytes in buf */
  uint8_t last;     /* L of the checksum */
} md2_t;

static void md2_init(md2_t *m) { memset(m, 0, sizeof *m); }

static void md2_block(md2_t *m) {
  for (int j = 0; j < 16; j++) {
    m->x[16 + j] = m->buf[j];
    m->x[32 + j] = (uint8_t)(m->x[16 + j] ^ m->x[j]);
    m->c[j] ^= MD2_S[m->buf[j] ^ m->last];
    m->last = m->c[j];
  }
  unsigned t = 0;
  for (unsigned j = 0; j < 18; j++) {
    for (int k = 0; k < 48; k++) {
      m->x[k] ^= MD2_S[t];
      t = m->x[k];
    }
    t = (t + j) & 0xff;
  }
}

static void md2_update(md2_t *m, const void *data, size_t len, uint8_t xor_mask) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) {
    m->buf[m->n++] = (uint8_t)(p[i] ^ xor_mask);
    if (m->n == 16) {
      md2_block(m);
      m->n = 0;
    }
  }
}

static void md2_final(md2_t *m, uint8_t out[16]) {
  uint8_t pad = (uint8_t)(16 - m->n);
  for (unsigned i = 0; i < pad; i++) {
    md2_update(m, &pad, 1, 0);
  }
  uint8_t c[16];
  memcpy(c, m->c, 16);
  md2_update(m, c, 16, 0);
  memcpy(out, m->x, 16);
}

void spw_md2(const void *data, size_t len, uint8_t out[16]) {
  md2_t m;
  md2_init(&m);
  md2_update(&m, data, len, 0);
  md2_final(&m, out);
}

/* The key: the driver's first pass takes no input and always yields these bytes. */
static const uint8_t KEY[16] = {0x14, 0x6A, 0xDD, 0xAE, 0x53, 0xA9, 0xA7, 0x52,
                                0xAA, 0x08, 0x41, 0x36, 0x0B, 0xF5, 0x5A, 0x9F};

struct record {
  uint32_t driver_version;
  uint32_t version;
  uint32_t process;
  uint32_t thread;
  const void *cudart_table;
  const void *integrity_table;
  const void *function;
  uint64_t unix_seconds;
};

struct device_record {
  uint8_t uuid[16];
  int32_t pci_domain;
  int32_t pci_bus;
  int32_t pci_device;
};

void spw_integrity(const struct spw_integrity_input *in, uint64_t out[2]) {
  if (in->version % 10 == 0) {
    out[0] = 0x3341181C03CB675CULL;
    out[1] = 0x8ED383AA1F4CD1E8ULL;
    return;
  }
  if (in->version % 10 == 1) {
    out[0] = 0x1841181C03CB675CULL;
    out[1] = 0x8ED383AA1F4CD1E8ULL;
    return;
  }
  struct record r = {in->driver_version, in->version, in->process, in->thread, in->cudart_table,
                     in->integrity_table, in->function, in->unix_seconds};
  md2_t m;
  md2_init(&m);
  md2_update(&m, KEY, 16, 0x36);
  md2_update(&m, &r, sizeof r, 0);
  for (unsigned d = 0; d < in->device_count; d++) {
    struct device_record dr;
    memcpy(dr.uuid, in->devices[d].uuid, 16);
    dr.pci_domain = in->devices[d].pci_domain;
    dr.pci_bus = in->devices[d].pci_bus;
    dr.pci_device = in->devices[d].pci_device;
    md2_update(&m, &dr, sizeof dr, 0);
  }
  uint8_t inner[16];
  md2_final(&m, inner);
  md2_init(&m);
  md2_update(&m, KEY, 16, 0x5c);
  md2_update(&m, inner, 16, 0);
  uint8_t digest[16];
  md2_final(&m, digest);
  memcpy(out, digest, 16);
}
