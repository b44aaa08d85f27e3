package io.spillway.lease;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * Who wrote a lease request or control record, proven by an HMAC-SHA256 in the record's
 * {@value #HEADER} header.
 *
 * <p>Why: every edge writes the one requests topic and the one renewals topic, so broker ACLs can let
 * only edges (and the center) write them, but cannot stop edge A from writing a record that names edge
 * B, and a consumer cannot see a record's producing principal. So each writer signs: an edge with its
 * <em>edge key</em>, admin orders with the <em>admin key</em>. Both keys are derived from one center
 * secret ({@link #edgeKey}, {@link #adminKey}), so the leader, which holds the secret, checks any edge's
 * record without a table of keys, and an edge holding its own key cannot sign as another.
 *
 * <p>What is signed: the topic, the record key and the value, so a signature cannot be moved to another
 * record. A replay of one edge's own record is not prevented here: edges are given no read access to
 * the requests and renewals topics (docs/security.md), renewals and releases name an epoch the leader
 * checks, and a request id is answered once.
 */
public final class LeaseSigning {

  /** The record header carrying the signature (32 bytes). */
  public static final String HEADER = "spillway-signature";
  /** The shortest center secret accepted, in bytes. */
  public static final int MIN_SECRET_BYTES = 32;

  private final byte[] secret;

  private LeaseSigning(byte[] secret) {
    this.secret = secret.clone();
  }

  /**
   * The leader's side: checks records against keys derived from {@code centerSecret}.
   *
   * @throws IllegalArgumentException if the secret is shorter than {@value #MIN_SECRET_BYTES} bytes
   */
  public static LeaseSigning verifier(byte[] centerSecret) {
    checkSecret(centerSecret);
    return new LeaseSigning(centerSecret);
  }

  /** The key edge {@code edge} signs its requests, renewals and releases with. */
  public static byte[] edgeKey(byte[] centerSecret, String edge) {
    checkSecret(centerSecret);
    return hmac(centerSecret, ("spillway lease writer\nedge\n" + Objects.requireNonNull(edge, "edge"))
        .getBytes(StandardCharsets.UTF_8));
  }

  /** The key admin orders (revoke) are signed with; only the center holds it. */
  public static byte[] adminKey(byte[] centerSecret) {
    checkSecret(centerSecret);
    return hmac(centerSecret, "spillway lease writer\nadmin\n".getBytes(StandardCharsets.UTF_8));
  }

  /** Adds the signature of (topic, key, value) under {@code writerKey} to {@code headers}. */
  public static void sign(byte[] writerKey, String topic, String key, byte[] value, Headers headers) {
    headers.remove(HEADER);
    headers.add(HEADER, signature(writerKey, topic, key, value));
  }

  /** True if the record carries a valid signature of edge {@code edge}. */
  public boolean signedByEdge(String edge, String topic, String key, byte[] value, Headers headers) {
    return valid(edgeKey(secret, edge), topic, key, value, headers);
  }

  /** True if the record carries a valid signature of the admin key. */
  public boolean signedByAdmin(String topic, String key, byte[] value, Headers headers) {
    return valid(adminKey(secret), topic, key, value, headers);
  }

  private static boolean valid(byte[] writerKey, String topic, String key, byte[] value, Headers headers) {
    Header h = headers.lastHeader(HEADER);
    return h != null && h.value() != null
        && MessageDigest.isEqual(h.value(), signature(writerKey, topic, key, value));
  }

  private static byte[] signature(byte[] writerKey, String topic, String key, byte[] value) {
    byte[] t = topic.getBytes(StandardCharsets.UTF_8);
    byte[] k = key == null ? new byte[0] : key.getBytes(StandardCharsets.UTF_8);
    byte[] v = value == null ? new byte[0] : value;
    // Length-prefixed, so that no two (topic, key, value) triples sign the same bytes.
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + t.length + k.length + v.length);
    b.putInt(t.length).put(t).putInt(k.length).put(k).putInt(v.length).put(v);
    return hmac(writerKey, b.array());
  }

  private static byte[] hmac(byte[] key, byte[] data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
    }
  }

  private static void checkSecret(byte[] secret) {
    Objects.requireNonNull(secret, "secret");
    if (secret.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException("a lease signing secret or key must be at least " + MIN_SECRET_BYTES
          + " bytes; this one is " + secret.length);
    }
  }

  /**
   * A secret or key from a file holding it in base64 on one line (as {@link #write} writes it).
   *
   * @param key the configuration key that named the file, for the messages
   */
  public static byte[] read(Path file, String key) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII).trim();
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException(key + " names " + file + ", which cannot be read: " + e.getMessage());
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + " names " + file + ", which does not hold one line of base64");
    }
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new IllegalArgumentException(key + " names " + file + ", which holds " + bytes.length
          + " bytes; at least " + MIN_SECRET_BYTES + " are needed");
    }
    return bytes;
  }

  /** Writes a secret or key as one line of base64, readable by its owner only where the file system allows. */
  public static void write(Path file, byte[] secret) throws java.io.IOException {
    Files.writeString(file, Base64.getEncoder().encodeToString(secret) + "\n", StandardCharsets.US_ASCII);
    try {
      Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException notPosix) {
      // The file system has no POSIX permissions; its own access rules apply.
    }
  }

  /** A fresh random center secret of 32 bytes. */
  public static byte[] newSecret() {
    byte[] s = new byte[MIN_SECRET_BYTES];
    new java.security.SecureRandom().nextBytes(s);
    return s;
  }
}
