package io.spillway.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.security.token.TokenRoles;
import io.spillway.security.token.TokenVerifier;
import io.spillway.security.token.VerificationKeys;
import io.spillway.security.token.VerifiedToken;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class TokenCommandTest {

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int exit = new CommandLine(new SpillwayCommand()).execute(args);
      return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void keygenThenIssueGivesTokensTheGatewaysVerify(@TempDir Path dir) throws Exception {
    Path keys = dir.resolve("auth");
    Run keygen = run("token", "keygen", "--dir", keys.toString());
    assertEquals(0, keygen.exit(), keygen.err());
    assertTrue(Files.isRegularFile(keys.resolve("jwks.json")));
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(keys.resolve("signing-key.pem"))));
    Run again = run("token", "keygen", "--dir", keys.toString());
    assertEquals(1, again.exit());
    assertTrue(again.err().contains("not overwriting a signing key"), again.err());

    TokenVerifier verifier = new TokenVerifier(VerificationKeys.fromFile(keys.resolve("jwks.json")), "spillway",
        "spillway", Duration.ofSeconds(30), Clock.systemUTC());
    String key = keys.resolve("signing-key.pem").toString();
    Run tenant = run("token", "issue", "--key", key, "--tenant", "search", "--ttl", "24h");
    assertEquals(0, tenant.exit(), tenant.err());
    VerifiedToken t = verifier.verify(tenant.out().strip());
    assertEquals(Optional.of("search"), t.tenant());
    Duration left = Duration.between(Instant.now(), t.expiresAt());
    assertTrue(left.compareTo(Duration.ofHours(23)) > 0 && left.compareTo(Duration.ofHours(25)) < 0, left.toString());

    Run admin = run("token", "issue", "--key", key, "--role", "admin", "--subject", "alice", "--ttl", "30m");
    assertEquals(0, admin.exit(), admin.err());
    VerifiedToken a = verifier.verify(admin.out().strip());
    assertTrue(a.hasRole(TokenRoles.ADMIN));
    assertEquals("alice", a.subject());

    Run agent = run("token", "issue", "--key", key, "--role", "agent", "--subject", "host-1", "--tenant", "search",
        "--tenant", "speech");
    assertEquals(0, agent.exit(), agent.err());
    assertTrue(verifier.verify(agent.out().strip()).mayVouchFor("speech"));
  }

  @Test
  void badArgumentsSayWhatIsWrong(@TempDir Path dir) throws Exception {
    run("token", "keygen", "--dir", dir.toString());
    String key = dir.resolve("signing-key.pem").toString();
    Run noTenant = run("token", "issue", "--key", key);
    assertEquals(TokenCommand.BAD_ARGUMENTS, noTenant.exit());
    assertTrue(noTenant.err().contains("exactly one --tenant"), noTenant.err());
    Run badName = run("token", "issue", "--key", key, "--tenant", "a b");
    assertEquals(TokenCommand.BAD_ARGUMENTS, badName.exit());
    assertTrue(badName.err().contains("is not a tenant name"), badName.err());
    Run badTtl = run("token", "issue", "--key", key, "--tenant", "a", "--ttl", "soon");
    assertTrue(badTtl.err().contains("--ttl is soon"), badTtl.err());
    Run adminNoSubject = run("token", "issue", "--key", key, "--role", "admin");
    assertTrue(adminNoSubject.err().contains("needs --subject"), adminNoSubject.err());
    Run noKey = run("token", "issue", "--key", dir.resolve("absent.pem").toString(), "--tenant", "a");
    assertTrue(noKey.err().contains("is not a readable file"), noKey.err());
  }
}
