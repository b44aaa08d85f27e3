package io.spillway.launcher;

import io.spillway.security.token.KeyFiles;
import io.spillway.security.token.TokenIssuer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code spillway token keygen|issue}: the operator's side of tenant, agent and admin credentials. The
 * gateways verify with the public half ({@code spillway.auth.keys}); the private key stays with whoever
 * issues tokens.
 */
@Command(name = "token", mixinStandardHelpOptions = true,
    description = "Make a signing key pair, and issue signed tokens for tenants, agents and administrators.",
    subcommands = {TokenCommand.Keygen.class, TokenCommand.Issue.class})
public final class TokenCommand implements Runnable {

  static final int BAD_ARGUMENTS = 2;

  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(name = "keygen", mixinStandardHelpOptions = true,
      description = "Write an EC P-256 signing key (signing-key.pem, owner-only) and its public half "
          + "(signing-key.pub.pem, jwks.json) into DIR. Point the gateways' spillway.auth.keys at jwks.json.")
  static final class Keygen implements Callable<Integer> {
    @Option(names = "--dir", paramLabel = "DIR", required = true, description = "Folder for the key files.")
    Path dir;

    @Override
    public Integer call() throws Exception {
      Path priv;
      try {
        priv = KeyFiles.write(KeyFiles.generate(), dir);
      } catch (java.io.IOException e) {
        System.err.println("spillway token keygen: " + e.getMessage());
        return 1;
      }
      System.out.println("signing key: " + priv);
      System.out.println("public keys: " + dir.resolve("jwks.json") + " (and " + dir.resolve("signing-key.pub.pem")
          + "); set spillway.auth.keys=" + dir.resolve("jwks.json").toAbsolutePath() + " on the gateways");
      return 0;
    }
  }

  @Command(name = "issue", mixinStandardHelpOptions = true,
      description = "Print a signed token on stdout: a tenant's (--tenant), an agent's (--role agent "
          + "--subject MACHINE --tenant T1 --tenant T2), or an administrator's (--role admin|read-only --subject NAME).")
  static final class Issue implements Callable<Integer> {
    @Option(names = "--key", paramLabel = "FILE", required = true,
        description = "The signing key (PKCS#8 PEM, EC P-256 or RSA), as spillway token keygen writes it.")
    Path key;

    @Option(names = "--role", paramLabel = "tenant|agent|admin|read-only", defaultValue = "tenant",
        description = "What the token is for (default: ${DEFAULT-VALUE}).")
    String role;

    @Option(names = "--tenant", paramLabel = "NAME",
        description = "The tenant a tenant token proves; for an agent, a tenant it may vouch for (repeatable).")
    List<String> tenants = new ArrayList<>();

    @Option(names = "--subject", paramLabel = "NAME",
        description = "Who holds it (the token's sub; the actor admin orders are recorded as). Default: "
            + "tenant:NAME for a tenant, required otherwise.")
    String subject;

    @Option(names = "--ttl", paramLabel = "DURATION", defaultValue = "24h",
        description = "How long it is valid: 30m, 24h, 7d, or ISO-8601 (default: ${DEFAULT-VALUE}).")
    String ttl;

    @Option(names = "--issuer", defaultValue = "spillway", description = "Its iss (default: ${DEFAULT-VALUE}).")
    String issuer;

    @Option(names = "--audience", defaultValue = "spillway", description = "Its aud (default: ${DEFAULT-VALUE}).")
    String audience;

    @Override
    public Integer call() throws Exception {
      TokenIssuer.Claims claims;
      try {
        claims = claims(role, tenants, subject, parseDuration(ttl));
      } catch (IllegalArgumentException e) {
        System.err.println("spillway token issue: " + e.getMessage());
        return BAD_ARGUMENTS;
      }
      if (!Files.isReadable(key)) {
        System.err.println("spillway token issue: --key " + key + " is not a readable file");
        return BAD_ARGUMENTS;
      }
      TokenIssuer issuer;
      try {
        issuer = TokenIssuer.fromFile(key, this.issuer, audience, Clock.systemUTC());
      } catch (java.io.IOException | IllegalArgumentException e) {
        System.err.println("spillway token issue: --key " + key + ": " + e.getMessage());
        return BAD_ARGUMENTS;
      }
      System.out.println(issuer.issue(claims));
      return 0;
    }
  }

  static TokenIssuer.Claims claims(String role, List<String> tenants, String subject, Duration ttl) {
    switch (role.toLowerCase(Locale.ROOT)) {
      case "tenant" -> {
        if (tenants.size() != 1) {
          throw new IllegalArgumentException("a tenant token needs exactly one --tenant, got " + tenants.size());
        }
        return subject == null ? TokenIssuer.Claims.tenant(tenants.get(0), ttl)
            : new TokenIssuer.Claims(subject, Optional.of(tenants.get(0)), List.of(), List.of(), ttl);
      }
      case "agent" -> {
        if (tenants.isEmpty()) {
          throw new IllegalArgumentException("an agent token needs at least one --tenant it may vouch for");
        }
        return TokenIssuer.Claims.agent(requireSubject(subject, role), tenants, ttl);
      }
      case "admin", "read-only" -> {
        if (!tenants.isEmpty()) {
          throw new IllegalArgumentException("--tenant does not go with --role " + role);
        }
        String s = requireSubject(subject, role);
        return role.equalsIgnoreCase("admin") ? TokenIssuer.Claims.admin(s, ttl) : TokenIssuer.Claims.readOnly(s, ttl);
      }
      default -> throw new IllegalArgumentException("--role is " + role
          + "; it must be tenant, agent, admin or read-only");
    }
  }

  private static String requireSubject(String subject, String role) {
    if (subject == null || subject.isBlank()) {
      throw new IllegalArgumentException("--role " + role + " needs --subject (who holds the token)");
    }
    return subject;
  }

  private static final Pattern SHORT = Pattern.compile("([0-9]+)(s|m|h|d)");

  /** {@code 30m}, {@code 24h}, {@code 7d}, {@code 90s}, or ISO-8601 ({@code PT1H}). */
  static Duration parseDuration(String text) {
    Matcher m = SHORT.matcher(text.strip().toLowerCase(Locale.ROOT));
    Duration d;
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      d = switch (m.group(2)) {
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    } else {
      try {
        d = Duration.parse(text.strip());
      } catch (java.time.format.DateTimeParseException e) {
        throw new IllegalArgumentException("--ttl is " + text + "; give 30m, 24h, 7d or an ISO-8601 duration");
      }
    }
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("--ttl is " + text + "; it must be positive");
    }
    return d;
  }
}
