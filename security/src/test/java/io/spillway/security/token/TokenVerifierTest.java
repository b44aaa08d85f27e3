package io.spillway.security.token;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenVerifierTest {
  static final Instant T0 = Instant.parse("2026-12-01T12:00:00Z");
  final AtomicReference<Instant> now = new AtomicReference<>(T0);
  final InstantSource clock = now::get;

  @TempDir
  Path dir;

  TokenVerifier verifier(Path keys) {
    return new TokenVerifier(VerificationKeys.fromFile(keys), "spillway", "spillway", Duration.ofSeconds(30), clock);
  }

  @Test
  void aTenantTokenFromKeygenVerifiesAgainstTheJwksAndThePem() throws Exception {
    Path priv = KeyFiles.write(KeyFiles.generate(), dir);
    TokenIssuer issuer = TokenIssuer.fromFile(priv, "spillway", "spillway", clock);
    String token = issuer.issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(24)));
    for (String file : List.of("jwks.json", "signing-key.pub.pem")) {
      VerifiedToken v = verifier(dir.resolve(file)).verify(token);
      assertEquals(Optional.of("vision"), v.tenant(), file);
      assertEquals("tenant:vision", v.subject());
      assertEquals(T0.plus(Duration.ofHours(24)), v.expiresAt());
      assertEquals(Set.of(), v.roles());
    }
    assertTrue(new String(Base64.getUrlDecoder().decode(token.split("\\.")[0]), StandardCharsets.UTF_8)
        .contains("\"ES256\""));
  }

  @Test
  void refusalsSayWhy() throws Exception {
    KeyPair pair = KeyFiles.generate();
    Path priv = KeyFiles.write(pair, dir);
    TokenVerifier v = verifier(dir.resolve("jwks.json"));
    TokenIssuer issuer = TokenIssuer.fromFile(priv, "spillway", "spillway", clock);
    String token = issuer.issue(TokenIssuer.Claims.tenant("vision", Duration.ofMinutes(5)));

    now.set(T0.plus(Duration.ofMinutes(6)));
    TokenException expired = assertThrows(TokenException.class, () -> v.verify(token));
    assertEquals(TokenException.Reason.EXPIRED, expired.reason());
    assertEquals("token expired at 2026-12-01T12:05:00Z", expired.getMessage());
    now.set(T0);

    String otherAudience = new TokenIssuer(pair, "spillway", "elsewhere", clock)
        .issue(TokenIssuer.Claims.tenant("vision", Duration.ofMinutes(5)));
    TokenException aud = assertThrows(TokenException.class, () -> v.verify(otherAudience));
    assertEquals(TokenException.Reason.WRONG_AUDIENCE, aud.reason());
    assertTrue(aud.getMessage().contains("'elsewhere'"), aud.getMessage());

    String otherIssuer = new TokenIssuer(pair, "mallory", "spillway", clock)
        .issue(TokenIssuer.Claims.tenant("vision", Duration.ofMinutes(5)));
    assertEquals(TokenException.Reason.WRONG_ISSUER, assertThrows(TokenException.class,
        () -> v.verify(otherIssuer)).reason());

    // Signed by another key, but naming the trusted key's id.
    String forged = new TokenIssuer(KeyFiles.generate().getPrivate(), pair.getPublic(), "spillway", "spillway", clock)
        .issue(TokenIssuer.Claims.tenant("vision", Duration.ofMinutes(5)));
    TokenException sig = assertThrows(TokenException.class, () -> v.verify(forged));
    assertEquals(TokenException.Reason.BAD_SIGNATURE, sig.reason());

    String unknown = new TokenIssuer(KeyFiles.generate(), "spillway", "spillway", clock)
        .issue(TokenIssuer.Claims.tenant("vision", Duration.ofMinutes(5)));
    TokenException kid = assertThrows(TokenException.class, () -> v.verify(unknown));
    assertEquals(TokenException.Reason.UNKNOWN_KEY, kid.reason());
    assertTrue(kid.getMessage().startsWith("unknown key id '"), kid.getMessage());

    // A token whose payload was changed after signing.
    String[] parts = token.split("\\.");
    String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(
        new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
            .replace("\"vision\"", "\"search\"").getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
    assertEquals(TokenException.Reason.BAD_SIGNATURE, assertThrows(TokenException.class,
        () -> v.verify(tampered)).reason());

    assertEquals(TokenException.Reason.MALFORMED, assertThrows(TokenException.class,
        () -> v.verify("not-a-token")).reason());
  }

  @Test
  void unsignedTokensAreRefused() throws Exception {
    KeyFiles.write(KeyFiles.generate(), dir);
    TokenVerifier v = verifier(dir.resolve("jwks.json"));
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String none = b64.encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
        + b64.encodeToString(("{\"iss\":\"spillway\",\"aud\":\"spillway\",\"sub\":\"x\",\"tenant\":\"vision\","
            + "\"exp\":" + (T0.getEpochSecond() + 600) + "}").getBytes(StandardCharsets.UTF_8)) + ".";
    TokenException e = assertThrows(TokenException.class, () -> v.verify(none));
    assertTrue(Set.of(TokenException.Reason.BAD_SIGNATURE, TokenException.Reason.MALFORMED).contains(e.reason()),
        e.reason() + ": " + e.getMessage());
  }

  @Test
  void agentAndAdminTokensCarryTheirRoles() throws Exception {
    Path priv = KeyFiles.write(KeyFiles.generate(), dir);
    TokenIssuer issuer = TokenIssuer.fromFile(priv, "spillway", "spillway", clock);
    TokenVerifier v = verifier(dir.resolve("jwks.json"));
    VerifiedToken agent = v.verify(issuer.issue(TokenIssuer.Claims.agent("host-1", List.of("vision", "search"),
        Duration.ofHours(1))));
    assertTrue(agent.mayVouchFor("vision"));
    assertFalse(agent.mayVouchFor("speech"));
    assertEquals(Optional.empty(), agent.tenant());
    VerifiedToken admin = v.verify(issuer.issue(TokenIssuer.Claims.admin("alice", Duration.ofHours(1))));
    assertTrue(admin.hasRole(TokenRoles.ADMIN));
    assertFalse(admin.mayVouchFor("vision"));
    assertEquals("alice", admin.subject());
  }

  @Test
  void rsaKeysFromAJwksVerifyAsAnOidcProviderWouldServeThem() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair rsa = g.generateKeyPair();
    Files.writeString(dir.resolve("jwks.json"), KeyFiles.jwks(List.of(rsa.getPublic())));
    String token = new TokenIssuer(rsa, "https://idp.example/realms/x", "spillway", clock)
        .issue(new TokenIssuer.Claims("u-42", Optional.empty(), List.of(TokenRoles.READ_ONLY), List.of(),
            Duration.ofMinutes(5)));
    VerifiedToken t = new TokenVerifier(VerificationKeys.fromFile(dir.resolve("jwks.json")),
        "https://idp.example/realms/x", "spillway", Duration.ofSeconds(30), clock).verify(token);
    assertTrue(t.hasRole(TokenRoles.READ_ONLY));
  }

  @Test
  void aRotatedKeyFileAppliesToTheNextToken() throws Exception {
    KeyPair oldKey = KeyFiles.generate();
    KeyPair newKey = KeyFiles.generate();
    Path jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, KeyFiles.jwks(List.of(oldKey.getPublic())));
    TokenVerifier v = verifier(jwks);
    String oldToken = new TokenIssuer(oldKey, "spillway", "spillway", clock)
        .issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(1)));
    String newToken = new TokenIssuer(newKey, "spillway", "spillway", clock)
        .issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(1)));
    v.verify(oldToken);
    assertEquals(TokenException.Reason.UNKNOWN_KEY, assertThrows(TokenException.class,
        () -> v.verify(newToken)).reason());

    rewrite(jwks, KeyFiles.jwks(List.of(oldKey.getPublic(), newKey.getPublic())));
    v.verify(oldToken);
    v.verify(newToken);

    rewrite(jwks, KeyFiles.jwks(List.of(newKey.getPublic())));
    assertEquals(TokenException.Reason.UNKNOWN_KEY, assertThrows(TokenException.class,
        () -> v.verify(oldToken)).reason());

    // A broken write keeps the keys in force.
    rewrite(jwks, "{\"keys\": [");
    v.verify(newToken);
    assertNull(v.keys().problem());
  }

  @Test
  void aMissingKeyFileRefusesEveryToken() throws Exception {
    TokenVerifier v = verifier(dir.resolve("absent.json"));
    TokenException e = assertThrows(TokenException.class, () -> v.verify(
        new TokenIssuer(KeyFiles.generate(), "spillway", "spillway", clock)
            .issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(1)))));
    assertEquals(TokenException.Reason.NO_KEYS, e.reason());
  }

  /** Writes and moves the modification time on, as a second write within the file system's tick may not. */
  private static void rewrite(Path file, String text) throws Exception {
    FileTime before = Files.getLastModifiedTime(file);
    Files.writeString(file, text);
    Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 1000));
  }
}
