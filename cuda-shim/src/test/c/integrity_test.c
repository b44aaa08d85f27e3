/* MD2 against the RFC 1319 test suite, and the integrity answer's fixed cases. */
#include <stdio.h>
#include <string.h>

#include "integrity.h"

static int failures;

static void expect_md2(const char *msg, const char *hex) {
  uint8_t out[16];
  char got[33];
  spw_md2(msg, strlen(msg), out);
  for (int i = 0; i < 16; i++) {
    snprintf(got + 2 * i, 3, "%02x", out[i]);
  }
  if (strcmp(got, hex) != 0) {
    printf("FAIL md2(\"%s\") = %s, expected %s\n", msg, got, hex);
    failures++;
  }
}

int main(void) {
  expect_md2("", "8350e5a3e24c153df2275c9f80692773");
  expect_md2("a", "32ec01ec4a6dac72c0ab96fb34c0b5d1");
  expect_md2("abc", "da853b0d3f88d99b30283a69e6ded6bb");
  expect_md2("message digest", "ab4f496bfb2a530b219ff33031fe06b0");
  expect_md2("abcdefghijklmnopqrstuvwxyz", "4e8ddff3650292ab5a4108c3aa47940b");
  expect_md2("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
             "d5976f79d83d3a0dc9806c3c66f3efd8");
  struct spw_integrity_input in;
  memset(&in, 0, sizeof in);
  uint64_t out[2];
  in.version = 13000;
  spw_integrity(&in, out);
  if (out[0] != 0x3341181C03CB675CULL || out[1] != 0x8ED383AA1F4CD1E8ULL) {
    printf("FAIL integrity(version %% 10 == 0)\n");
    failures++;
  }
  /* The computed case depends on its inputs: two different times give different answers. */
  in.version = 13002;
  in.unix_seconds = 1;
  uint64_t a[2], b[2];
  spw_integrity(&in, a);
  in.unix_seconds = 2;
  spw_integrity(&in, b);
  if (a[0] == b[0] && a[1] == b[1]) {
    printf("FAIL integrity ignores the time\n");
    failures++;
  }
  printf("%s: integrity tests\n", failures ? "FAILED" : "passed");
  return failures != 0;
}
