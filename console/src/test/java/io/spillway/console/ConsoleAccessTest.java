package io.spillway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.console.ConsoleAccess.Role;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConsoleAccessTest {

  @Test
  void withoutTokensEveryoneIsAdminAndTheConsoleSaysItIsOpen() {
    ConsoleAccess open = ConsoleAccess.of(List.of(), List.of());
    assertTrue(open.isOpen());
    ConsoleAccess.Access a = open.resolve(null).orElseThrow();
    assertEquals(Role.ADMIN, a.role());
    assertEquals("none", a.authentication());
    assertTrue(a.notice().startsWith("no authentication configured"), a.notice());
    assertEquals(Role.ADMIN, open.resolve("anything").orElseThrow().role());
  }

  @Test
  void declaredTokensHaveTheirRolesAndOthersNone() {
    ConsoleAccess access = ConsoleAccess.of(List.of("adm-1"), List.of("ro-1", "ro-2"));
    assertEquals(Role.ADMIN, access.resolve("adm-1").orElseThrow().role());
    assertEquals(Role.READ_ONLY, access.resolve(" ro-2 ").orElseThrow().role());
    assertEquals(Optional.empty(), access.resolve("guess"));
    assertEquals(Optional.empty(), access.resolve(null));
    assertEquals(Optional.empty(), access.resolve(""));
  }

  @Test
  void aTokenWithTwoRolesOrEmptyIsRefusedNamingTheKey() {
    var both = assertThrows(IllegalArgumentException.class,
        () -> ConsoleAccess.of(List.of("t"), List.of("t")));
    assertTrue(both.getMessage().contains("spillway.console.read-only-tokens"), both.getMessage());
    var empty = assertThrows(IllegalArgumentException.class, () -> ConsoleAccess.of(List.of(" "), List.of()));
    assertTrue(empty.getMessage().contains("spillway.console.admin-tokens"), empty.getMessage());
  }
}
