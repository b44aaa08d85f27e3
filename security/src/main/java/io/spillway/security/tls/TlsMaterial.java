package io.spillway.security.tls;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * The contents of a {@link TlsFiles} at one moment, parsed: immutable, so a connection's handshake sees
 * one consistent certificate, key and trust whatever a rotation does meanwhile.
 *
 * @param chain the certificate chain, leaf first; null for a client that presents none
 * @param key its private key; null with no chain
 * @param bytes the three files' bytes as read (cert, key, CA), to tell whether they changed since
 */
record TlsMaterial(X509Certificate[] chain, PrivateKey key, X509Certificate[] trusted, List<byte[]> bytes) {

  /**
   * Reads and parses the files; fails naming the file and what is wrong with it.
   *
   * @param cert the certificate chain, or null for a client that presents none (then {@code key} is null too)
   */
  static TlsMaterial read(Path cert, Path key, Path trustedCa) throws IOException, GeneralSecurityException {
    List<byte[]> bytes = readBytes(cert, key, trustedCa);
    X509Certificate[] trusted = certificates(trustedCa, bytes.get(2));
    if (cert == null) {
      return new TlsMaterial(null, null, trusted, bytes);
    }
    X509Certificate[] chain = certificates(cert, bytes.get(0));
    PrivateKey privateKey = privateKey(key, bytes.get(1));
    if (!belongTogether(privateKey, chain[0])) {
      throw new GeneralSecurityException("the key in " + key + " (" + privateKey.getAlgorithm()
          + ") does not belong to the certificate in " + cert + " ("
          + chain[0].getPublicKey().getAlgorithm() + ")");
    }
    return new TlsMaterial(chain, privateKey, trusted, bytes);
  }

  /** Whether {@code key} is the private half of {@code cert}'s key: it signs what the certificate verifies. */
  private static boolean belongTogether(PrivateKey key, X509Certificate cert) throws GeneralSecurityException {
    if (!cert.getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      return false;
    }
    String algorithm = key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
    byte[] probe = "spillway key check".getBytes(StandardCharsets.US_ASCII);
    Signature signer = Signature.getInstance(algorithm);
    signer.initSign(key);
    signer.update(probe);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(algorithm);
    verifier.initVerify(cert.getPublicKey());
    verifier.update(probe);
    return verifier.verify(signature);
  }

  /** The three files' bytes, in {@link #bytes()} order; an absent cert and key read as empty. */
  static List<byte[]> readBytes(Path cert, Path key, Path trustedCa) throws IOException {
    return List.of(cert == null ? new byte[0] : Files.readAllBytes(cert),
        key == null ? new byte[0] : Files.readAllBytes(key), Files.readAllBytes(trustedCa));
  }

  /** Whether {@code other} holds the same bytes as these files did. */
  boolean sameBytes(List<byte[]> other) {
    for (int i = 0; i < bytes.size(); i++) {
      if (!Arrays.equals(bytes.get(i), other.get(i))) {
        return false;
      }
    }
    return true;
  }

  private static X509Certificate[] certificates(Path file, byte[] pem) throws CertificateException {
    var found = CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
    if (found.isEmpty()) {
      throw new CertificateException(file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return found.stream().map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
  }

  private static PrivateKey privateKey(Path file, byte[] pem) throws GeneralSecurityException {
    String text = new String(pem, StandardCharsets.US_ASCII);
    String begin = "-----BEGIN PRIVATE KEY-----";
    String end = "-----END PRIVATE KEY-----";
    int from = text.indexOf(begin);
    int to = text.indexOf(end);
    if (from < 0 || to < from) {
      String hint = text.contains("-----BEGIN RSA PRIVATE KEY-----") || text.contains("-----BEGIN EC PRIVATE KEY-----")
          ? "; it holds a PKCS#1/SEC1 key: convert it with 'openssl pkcs8 -topk8 -nocrypt', or have cert-manager"
              + " write PKCS#8 (privateKey.encoding: PKCS8)"
          : text.contains("ENCRYPTED PRIVATE KEY") ? "; encrypted keys are not supported" : "";
      throw new GeneralSecurityException(file + " holds no PKCS#8 private key (" + begin + ")" + hint);
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
    } catch (IllegalArgumentException e) {
      throw new GeneralSecurityException(file + ": the private key is not valid base64: " + e.getMessage());
    }
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String algorithm : List.of("EC", "RSA")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(spec);
      } catch (GeneralSecurityException wrongAlgorithm) {
        // try the next
      }
    }
    throw new GeneralSecurityException(file + " holds a PKCS#8 key that is neither EC nor RSA");
  }
}
