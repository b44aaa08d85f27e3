package io.spillway.security.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TenantNamesTest {

  @Test
  void acceptsPlainNames() {
    for (String ok : new String[] {"t", "acme", "search-ranking", "team.a_1", "A1", "x".repeat(63)}) {
      assertTrue(TenantNames.isValid(ok), ok);
      assertNull(TenantNames.problem(ok), ok);
    }
  }

  @Test
  void refusesWhatCouldBreakALogLineOrAMetricLabel() {
    for (String bad : new String[] {"", " ", "-a", ".a", "a b", "a\"b", "a\nb", "ten/ant", "a{b}", "ü",
        "x".repeat(64)}) {
      assertFalse(TenantNames.isValid(bad), bad);
    }
    assertEquals("tenant is empty", TenantNames.problem(""));
    assertEquals("tenant 'a\\u000ab' is not a tenant name: it must be letters, digits, '.', '_' or '-', "
        + "starting with a letter or digit", TenantNames.problem("a\nb"));
    assertTrue(TenantNames.problem("y".repeat(500)).startsWith("tenant '" + "y".repeat(64) + "...' has 500"));
  }
}
