package io.spillway.security.token;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jose4j.jwk.JsonWebKey;
import org.jose4j.jwk.JsonWebKeySet;
import org.jose4j.jwk.PublicJsonWebKey;
import org.jose4j.lang.JoseException;

/**
 * Signing keys on disk: an EC P-256 key pair made here ({@link #generate}), the private key as PKCS#8
 * PEM, the public key as SPKI PEM and as a JWKS (the form OIDC providers publish). Reading takes EC and
 * RSA keys alike.
 */
public final class KeyFiles {
  private static final Pattern PEM = Pattern.compile(
      "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  private KeyFiles() {}

  /** A new EC P-256 key pair, for ES256. */
  public static KeyPair generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot make EC P-256 keys", e);
    }
  }

  /** The RFC 7638 thumbprint of a public key: the key id tokens signed with its private key carry. */
  public static String keyId(PublicKey key) {
    try {
      return PublicJsonWebKey.Factory.newPublicJwk(key).calculateBase64urlEncodedThumbprint("SHA-256");
    } catch (JoseException e) {
      throw new IllegalArgumentException("not a key for JWS: " + key.getAlgorithm(), e);
    }
  }

  /**
   * Writes {@code dir/signing-key.pem} (private, owner-only), {@code dir/signing-key.pub.pem} and
   * {@code dir/jwks.json}; refuses to overwrite an existing private key.
   *
   * @return the private key's path
   */
  public static Path write(KeyPair pair, Path dir) throws IOException {
    Files.createDirectories(dir);
    Path priv = dir.resolve("signing-key.pem");
    if (Files.exists(priv)) {
      throw new IOException(priv + " exists; not overwriting a signing key (move it away first)");
    }
    Files.createFile(priv);
    try {
      Files.setPosixFilePermissions(priv, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException notPosix) {
      // The file system cannot restrict it; the operator's umask and directory decide.
    }
    // The public key rides along so that an issuer reading this file knows the key id to put in tokens.
    Files.writeString(priv, pem("PRIVATE KEY", pair.getPrivate().getEncoded())
        + pem("PUBLIC KEY", pair.getPublic().getEncoded()), StandardOpenOption.TRUNCATE_EXISTING);
    Files.writeString(dir.resolve("signing-key.pub.pem"), pem("PUBLIC KEY", pair.getPublic().getEncoded()));
    Files.writeString(dir.resolve("jwks.json"), jwks(List.of(pair.getPublic())));
    return priv;
  }

  /** A JWKS holding {@code keys}, each with its thumbprint as {@code kid}. */
  public static String jwks(List<PublicKey> keys) {
    try {
      List<JsonWebKey> jwks = new ArrayList<>();
      for (PublicKey k : keys) {
        PublicJsonWebKey jwk = PublicJsonWebKey.Factory.newPublicJwk(k);
        jwk.setKeyId(keyId(k));
        jwk.setUse("sig");
        jwks.add(jwk);
      }
      return new JsonWebKeySet(jwks).toJson(JsonWebKey.OutputControlLevel.PUBLIC_ONLY);
    } catch (JoseException e) {
      throw new IllegalArgumentException("not a key for JWS", e);
    }
  }

  public static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
        .encodeToString(der) + "\n-----END " + type + "-----\n";
  }

  /** The private key of a PKCS#8 PEM file ({@code BEGIN PRIVATE KEY}), EC or RSA. */
  public static PrivateKey readPrivateKey(Path file) throws IOException {
    List<byte[]> blocks = blocks(Files.readString(file), "PRIVATE KEY");
    if (blocks.size() != 1) {
      throw new IOException(file + " holds " + blocks.size() + " PKCS#8 private keys (BEGIN PRIVATE KEY); "
          + "it must hold exactly one");
    }
    for (String alg : List.of("EC", "RSA")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(blocks.get(0)));
      } catch (GeneralSecurityException tryNext) {
        // not this algorithm
      }
    }
    throw new IOException(file + " holds a private key that is neither EC nor RSA");
  }

  /**
   * The public key beside a private key in {@code file} (what {@link #write} puts there), or derived
   * from an RSA CRT key; null when neither is at hand (tokens then carry no key id).
   */
  public static PublicKey publicKeyBeside(Path file, PrivateKey key) throws IOException {
    List<byte[]> pub = blocks(Files.readString(file), "PUBLIC KEY");
    if (pub.size() == 1) {
      return publicKey(file, pub.get(0));
    }
    if (key instanceof java.security.interfaces.RSAPrivateCrtKey rsa) {
      try {
        return KeyFactory.getInstance("RSA").generatePublic(
            new java.security.spec.RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
      } catch (GeneralSecurityException e) {
        throw new IOException(file + ": cannot derive the RSA public key: " + e.getMessage());
      }
    }
    return null;
  }

  /** The public keys of an SPKI PEM file ({@code BEGIN PUBLIC KEY}, one or more), EC or RSA. */
  public static List<PublicKey> readPublicKeys(Path file, String text) throws IOException {
    List<byte[]> blocks = blocks(text, "PUBLIC KEY");
    if (blocks.isEmpty()) {
      throw new IOException(file + " holds no public key (BEGIN PUBLIC KEY) and is not a JWKS");
    }
    List<PublicKey> keys = new ArrayList<>();
    for (byte[] der : blocks) {
      keys.add(publicKey(file, der));
    }
    return keys;
  }

  private static PublicKey publicKey(Path file, byte[] der) throws IOException {
    for (String alg : List.of("EC", "RSA")) {
      try {
        return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(der));
      } catch (GeneralSecurityException tryNext) {
        // not this algorithm
      }
    }
    throw new IOException(file + " holds a public key that is neither EC nor RSA");
  }

  private static List<byte[]> blocks(String text, String type) throws IOException {
    List<byte[]> out = new ArrayList<>();
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      if (m.group(1).equals(type)) {
        try {
          out.add(Base64.getMimeDecoder().decode(m.group(2)));
        } catch (IllegalArgumentException e) {
          throw new IOException("a " + type + " block is not base64: " + e.getMessage());
        }
      }
    }
    return out;
  }
}
