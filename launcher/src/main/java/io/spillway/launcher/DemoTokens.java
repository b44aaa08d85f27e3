package io.spillway.launcher;

import io.spillway.security.token.KeyFiles;
import io.spillway.security.token.TokenIssuer;
import io.spillway.topology.Topology;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The credentials of a federation {@code spillway up} or {@code demo} starts: a throwaway signing key in
 * the run's folder, the gateways told to verify with its public half, and tokens for the workloads (one
 * per tenant), the operator (admin and read-only, written beside the key so that {@code spillway
 * status --token-file} and the console can use them) and agents.
 */
public final class DemoTokens {
  /** How long the run's tokens live: longer than any demo, short enough to be worthless tomorrow. */
  static final Duration TTL = Duration.ofHours(24);

  private final Path dir;
  private final TokenIssuer issuer;
  private final String admin;
  private final String readOnly;
  private final Map<String, String> tenants = new ConcurrentHashMap<>();

  private DemoTokens(Path dir, TokenIssuer issuer) throws IOException {
    this.dir = dir;
    this.issuer = issuer;
    this.admin = issuer.issue(TokenIssuer.Claims.admin("operator", TTL));
    this.readOnly = issuer.issue(TokenIssuer.Claims.readOnly("viewer", TTL));
    write(dir.resolve("admin.jwt"), admin);
    write(dir.resolve("read-only.jwt"), readOnly);
  }

  /**
   * A new key pair in {@code dir} (created if needed) and the operator's tokens. A previous run's key
   * there (a reused --logs folder) is replaced: it was throwaway, and so are the tokens it signed.
   */
  static DemoTokens create(Path dir) throws IOException {
    for (String old : List.of("signing-key.pem", "signing-key.pub.pem", "jwks.json", "admin.jwt", "read-only.jwt")) {
      Files.deleteIfExists(dir.resolve(old));
    }
    Path key = KeyFiles.write(KeyFiles.generate(), dir);
    return new DemoTokens(dir, TokenIssuer.fromFile(key, "spillway", "spillway", Clock.systemUTC()));
  }

  /** The folder of the key pair and the operator's tokens ({@code admin.jwt}, {@code read-only.jwt}). */
  public Path dir() {
    return dir;
  }

  Path jwks() {
    return dir.resolve("jwks.json");
  }

  /** {@code -D} settings for every gateway: verify tokens with this run's key. */
  List<String> gatewayProperties() {
    return List.of("-Dspillway.auth.keys=" + jwks().toAbsolutePath());
  }

  /**
   * {@code -D} settings for the edges of {@code t}: as {@link #gatewayProperties()}, and where the file
   * names no tenants, admit any tenant this run issued a token for under the default quota.
   */
  List<String> edgeProperties(Topology t) {
    List<String> out = new ArrayList<>(gatewayProperties());
    if (t.tenants().isEmpty()) {
      out.add("-Dspillway.edge.unknown-tenants=default-quota");
    }
    return out;
  }

  /** The token of {@code tenant}, issued once per run. */
  public String tenant(String tenant) {
    return tenants.computeIfAbsent(tenant, t -> issuer.issue(TokenIssuer.Claims.tenant(t, TTL)));
  }

  /** A token of role {@code spillway-admin}, subject {@code operator}: revoke and rebalance. */
  public String admin() {
    return admin;
  }

  /** A token of role {@code spillway-read-only}, subject {@code viewer}: the gateways' reads. */
  public String readOnly() {
    return readOnly;
  }

  /** An agent's token for {@code machine}, vouching for {@code vouchFor}. */
  String agent(String machine, List<String> vouchFor) {
    return issuer.issue(TokenIssuer.Claims.agent(machine, vouchFor, TTL));
  }

  /** {@code b} with the read-only token, for the launcher's own reads of the gateways' HTTP APIs. */
  HttpRequest.Builder reading(HttpRequest.Builder b) {
    return b.header("Authorization", "Bearer " + readOnly);
  }

  private static void write(Path file, String token) throws IOException {
    Files.deleteIfExists(file);
    Files.createFile(file);
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException notPosix) {
      // the folder's permissions decide
    }
    Files.writeString(file, token + "\n");
  }
}
