package io.spillway.center;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;

import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.spillway.security.token.KeyFiles;
import io.spillway.security.token.TokenIssuer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The admin API of a center that checks credentials (spillway.auth.keys set), over real HTTP: no token
 * 401, a read-only token may read and not order (403), a tenant's token is no admin's (403), an expired
 * token says when it expired; health stays open for probes.
 */
@QuarkusTest
@TestProfile(AdminApiAuthTest.Tokens.class)
@WithTestResource(KafkaResource.class)
class AdminApiAuthTest {

  /** Where the profile puts the key pair; the test signs its tokens with the private half. */
  static final Path KEYS = Path.of(System.getProperty("java.io.tmpdir"),
      "spillway-admin-auth-test-" + ProcessHandle.current().pid());

  public static class Tokens implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
      try {
        if (!Files.exists(KEYS.resolve("signing-key.pem"))) {
          KeyFiles.write(KeyFiles.generate(), KEYS);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return Map.of("spillway.auth.keys", KEYS.resolve("jwks.json").toString());
    }
  }

  private static String bearer(TokenIssuer.Claims claims) throws IOException {
    return "Bearer " + TokenIssuer.fromFile(KEYS.resolve("signing-key.pem"), "spillway", "spillway",
        Clock.systemUTC()).issue(claims);
  }

  @Test
  void readsNeedAReadOnlyOrAdminToken() throws Exception {
    given().get("/leases").then().statusCode(401).header("WWW-Authenticate", startsWith("Bearer"))
        .body("message", containsString("Authorization: Bearer <token>"));
    given().header("Authorization", bearer(TokenIssuer.Claims.readOnly("viewer", Duration.ofMinutes(5))))
        .get("/leases").then().statusCode(200);
    given().header("Authorization", bearer(TokenIssuer.Claims.tenant("vision", Duration.ofMinutes(5))))
        .get("/leases").then().statusCode(403).body("message", containsString("has neither role"));
    given().header("Authorization", "Bearer not-a-jwt").get("/pool").then().statusCode(401);
    given().get("/q/health/live").then().statusCode(200);
  }

  @Test
  void ordersNeedAnAdminToken() throws Exception {
    String body = "{\"reason\": \"test\"}";
    given().contentType(ContentType.JSON).body(body).post("/leases/no-such/revoke").then().statusCode(401);
    given().contentType(ContentType.JSON).body(body).header("X-Spillway-Admin", "mallory")
        .post("/leases/no-such/revoke").then().statusCode(401);
    given().header("Authorization", bearer(TokenIssuer.Claims.readOnly("viewer", Duration.ofMinutes(5))))
        .contentType(ContentType.JSON).body(body).post("/leases/no-such/revoke").then().statusCode(403)
        .body("message", containsString("need role spillway-admin"));
    given().header("Authorization", bearer(TokenIssuer.Claims.readOnly("viewer", Duration.ofMinutes(5))))
        .contentType(ContentType.JSON)
        .body("{\"fromEdge\": \"a\", \"toEdge\": \"b\", \"memoryBytes\": 1, \"reason\": \"test\"}")
        .post("/rebalance").then().statusCode(403);
    String expired = "Bearer " + TokenIssuer.fromFile(KEYS.resolve("signing-key.pem"), "spillway", "spillway",
        () -> Instant.now().minus(Duration.ofHours(2))).issue(TokenIssuer.Claims.admin("alice", Duration.ofHours(1)));
    given().header("Authorization", expired).contentType(ContentType.JSON).body(body)
        .post("/leases/no-such/revoke").then().statusCode(401).body("message", startsWith("token expired at "));
    // An admin's order passes the check and meets the API's own answer: no such lease.
    given().header("Authorization", bearer(TokenIssuer.Claims.admin("alice", Duration.ofMinutes(5))))
        .contentType(ContentType.JSON).body(body).post("/leases/no-such/revoke").then().statusCode(404);
    given().header("Authorization", bearer(TokenIssuer.Claims.admin("alice", Duration.ofMinutes(5))))
        .get("/console/api/whoami").then().statusCode(200).body("role", equalTo("admin"))
        .body("subject", equalTo("alice"));
  }
}
