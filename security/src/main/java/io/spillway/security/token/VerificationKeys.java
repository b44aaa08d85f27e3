package io.spillway.security.token;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.Key;
import java.security.PublicKey;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.lang.JoseException;

/**
 * The public keys tokens are verified with, read from one file: a JWKS ({@code {"keys":[...]}}, what an
 * OIDC provider serves at its {@code jwks_uri}) or PEM public keys. The file is read again when its
 * modification time or size changes, so a key rotated into it (a second key added, later the old one
 * removed) applies to the next token without a restart. A file that no longer reads leaves the keys
 * read before in force and is logged; if it never read, every token is refused with {@code NO_KEYS}.
 *
 * <p>A key's id is its JWKS {@code kid}; PEM keys, and JWKS keys without one, get their RFC 7638
 * thumbprint, which is what {@link TokenIssuer} puts in the tokens it signs.
 *
 * <p>Thread-safe: the keys are an immutable snapshot swapped as a whole.
 */
public final class VerificationKeys {
  private static final Logger LOG = Logger.getLogger(VerificationKeys.class.getName());

  private record Snapshot(FileTime modified, long size, Map<String, Key> byId, String error) {}

  private final Path file;
  private volatile Snapshot snapshot;

  private VerificationKeys(Path file) {
    this.file = file;
    this.snapshot = read(new Snapshot(null, -1, Map.of(), "not read yet"));
  }

  /** The keys of {@code file}; a file that does not read is reported by {@link #problem()} and retried. */
  public static VerificationKeys fromFile(Path file) {
    return new VerificationKeys(file);
  }

  public Path file() {
    return file;
  }

  /** Why the file gave no keys, or null when it did. */
  public String problem() {
    Snapshot s = current();
    return s.byId.isEmpty() ? s.error : null;
  }

  /** The key ids in force, in file order. */
  public List<String> keyIds() {
    return List.copyOf(current().byId.keySet());
  }

  /**
   * The key a token's {@code kid} names. A token without a {@code kid} is verified with the file's only
   * key; with several keys it must name one.
   */
  Key resolve(String kid) throws TokenException {
    Snapshot s = current();
    if (s.byId.isEmpty()) {
      throw new TokenException(TokenException.Reason.NO_KEYS, "no key to verify tokens with: " + s.error);
    }
    if (kid == null || kid.isEmpty()) {
      if (s.byId.size() == 1) {
        return s.byId.values().iterator().next();
      }
      throw new TokenException(TokenException.Reason.UNKNOWN_KEY, "the token names no key id (kid) and "
          + file + " holds " + s.byId.size() + " keys");
    }
    Key k = s.byId.get(kid);
    if (k == null) {
      throw new TokenException(TokenException.Reason.UNKNOWN_KEY, "unknown key id " + TenantNames.quoted(kid)
          + ": " + file + " holds " + s.byId.keySet());
    }
    return k;
  }

  private Snapshot current() {
    Snapshot s = snapshot;
    FileTime modified;
    long size;
    try {
      modified = Files.getLastModifiedTime(file);
      size = Files.size(file);
    } catch (IOException e) {
      if (s.byId.isEmpty()) {
        return new Snapshot(null, -1, Map.of(), file + " cannot be read: " + e);
      }
      return s;
    }
    if (modified.equals(s.modified) && size == s.size) {
      return s;
    }
    synchronized (this) {
      if (snapshot == s) {
        snapshot = read(s);
      }
      return snapshot;
    }
  }

  private Snapshot read(Snapshot before) {
    try {
      FileTime modified = Files.getLastModifiedTime(file);
      long size = Files.size(file);
      Map<String, Key> keys = parse(Files.readString(file));
      if (before.modified != null) {
        LOG.info(() -> "token keys reloaded from " + file + ": " + keys.keySet());
      }
      return new Snapshot(modified, size, keys, null);
    } catch (IOException | RuntimeException e) {
      String error = file + " gives no key: " + e.getMessage();
      LOG.log(Level.WARNING, error + (before.byId.isEmpty() ? "" : "; keeping the keys read before"));
      FileTime modified = null;
      long size = -1;
      try {
        modified = Files.getLastModifiedTime(file);
        size = Files.size(file);
      } catch (IOException gone) {
        // retried on the next token
      }
      // Remember the failed version so it is not re-read for every token; a new write is read again.
      return new Snapshot(modified, size, before.byId, error);
    }
  }

  private Map<String, Key> parse(String text) throws IOException {
    Map<String, Key> keys = new LinkedHashMap<>();
    if (text.strip().startsWith("{")) {
      try {
        for (JsonWebKey jwk : new JsonWebKeySet(text).getJsonWebKeys()) {
          if (!(jwk instanceof PublicJsonWebKey pub) || (jwk.getUse() != null && !jwk.getUse().equals("sig"))) {
            continue;
          }
          String kid = jwk.getKeyId() != null ? jwk.getKeyId() : KeyFiles.keyId(pub.getPublicKey());
          keys.put(kid, pub.getPublicKey());
        }
      } catch (JoseException e) {
        throw new IOException("not a JWKS: " + e.getMessage());
      }
      if (keys.isEmpty()) {
        throw new IOException("the JWKS holds no EC or RSA signing key");
      }
    } else {
      for (PublicKey k : KeyFiles.readPublicKeys(file, text)) {
        keys.put(KeyFiles.keyId(k), k);
      }
    }
    return java.util.Collections.unmodifiableMap(keys);
  }
}
