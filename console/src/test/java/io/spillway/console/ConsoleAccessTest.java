package io.spillway.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.console.ConsoleAccess.Granted;
import io.spillway.console.ConsoleAccess.Refused;
import io.spillway.console.ConsoleAccess.Role;
import io.spillway.security.token.KeyFiles;
import io.spillway.security.token.TokenIssuer;
import io.spillway.security.token.TokenVerifier;
import io.spillway.security.token.VerificationKeys;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleAccessTest {

  @TempDir
  Path dir;

  @Test
  void withoutKeysEveryoneIsAdminAndTheActorIsWhatTheRequestSays() {
    ConsoleAccess open = ConsoleAccess.open();
    assertTrue(open.isOpen());
    ConsoleAccess.Access a = ((Granted) open.authorize(null, true)).access();
    assertEquals(Role.ADMIN, a.role());
    assertEquals("none", a.authentication());
    assertTrue(a.notice().startsWith("no authentication configured"), a.notice());
    assertEquals("alice", open.actor(null, " alice "));
    assertEquals("anonymous", open.actor(null, null));
  }

  @Test
  void withKeysTheTokensRoleDecidesAndTheActorIsItsSubject() throws Exception {
    KeyPair key = KeyFiles.generate();
    KeyFiles.write(key, dir);
    ConsoleAccess access = ConsoleAccess.tokens(new TokenVerifier(VerificationKeys.fromFile(dir.resolve("jwks.json")),
        "spillway", "spillway", Duration.ofSeconds(30), Clock.systemUTC()));
    TokenIssuer issuer = new TokenIssuer(key, "spillway", "spillway", Clock.systemUTC());
    String admin = "Bearer " + issuer.issue(TokenIssuer.Claims.admin("alice", Duration.ofHours(1)));
    String readOnly = "Bearer " + issuer.issue(TokenIssuer.Claims.readOnly("bob", Duration.ofHours(1)));
    String tenant = "Bearer " + issuer.issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(1)));
    String expired = "Bearer " + new TokenIssuer(key, "spillway", "spillway",
        () -> Instant.now().minus(Duration.ofHours(2))).issue(TokenIssuer.Claims.admin("alice", Duration.ofHours(1)));

    assertEquals(Role.ADMIN, ((Granted) access.authorize(admin, true)).access().role());
    assertEquals("alice", access.actor(admin, "mallory"));
    assertEquals(Role.READ_ONLY, ((Granted) access.authorize(readOnly, false)).access().role());

    Refused orderByReadOnly = (Refused) access.authorize(readOnly, true);
    assertEquals(403, orderByReadOnly.status());
    assertTrue(orderByReadOnly.message().contains("need role spillway-admin"), orderByReadOnly.message());
    assertEquals(403, ((Refused) access.authorize(tenant, false)).status());
    assertEquals(401, ((Refused) access.authorize(null, false)).status());
    assertEquals(401, ((Refused) access.authorize("Basic YWxpY2U6eA==", false)).status());
    Refused stale = (Refused) access.authorize(expired, false);
    assertEquals(401, stale.status());
    assertTrue(stale.message().startsWith("token expired at "), stale.message());
    assertThrows(IllegalStateException.class, () -> access.actor(readOnly, null));
  }
}
