package io.spillway.security.tls;

import io.spillway.security.PeerIdentity;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throwaway certificate authority, for {@code spillway up}, {@code spillway demo} and tests: a CA of
 * its own (EC P-256, in memory only) that issues component certificates naming a {@link PeerIdentity} in
 * a {@code spillway://} URI SAN, plus DNS and IP SANs for host-name verification. Not for production,
 * where cert-manager (or another CA) issues the same names (docs/security.md).
 *
 * <p>Files are written whole or not at all (written beside, then moved), so a component that reloads
 * them never reads half a certificate; keys are readable by their owner only.
 *
 * <p>Needs BouncyCastle ({@code bcpkix-jdk18on}), which the security module declares optional: a module
 * that issues certificates declares it itself.
 */
public final class Pki {

  /** The key a certificate is issued for. */
  public enum KeyType { EC, RSA }

  /** How long certificates are valid when not said: long enough for any run on one machine. */
  public static final Duration DEFAULT_VALIDITY = Duration.ofDays(30);
  /** The CA's file name in every directory {@link #issue} writes to. */
  public static final String CA_FILE = "ca.crt";

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final X500Name name;
  private final KeyPair keys;
  private final X509Certificate certificate;

  private Pki(X500Name name, KeyPair keys, X509Certificate certificate) {
    this.name = name;
    this.keys = keys;
    this.certificate = certificate;
  }

  /** A new CA named {@code CN=commonName}, valid {@link #DEFAULT_VALIDITY}. */
  public static Pki create(String commonName) {
    try {
      X500Name name = new X500Name("CN=" + commonName);
      KeyPair keys = keyPair(KeyType.EC);
      Instant now = Instant.now();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
          Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(DEFAULT_VALIDITY)), name, keys.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
      X509Certificate cert = sign(b, keys);
      return new Pki(name, keys, cert);
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("could not create a CA: " + e.getMessage(), e);
    }
  }

  public X509Certificate caCertificate() {
    return certificate;
  }

  /** Writes the CA's certificate (PEM) to {@code file}. */
  public Path writeCa(Path file) {
    write(file, pem("CERTIFICATE", der(certificate)), false);
    return file;
  }

  /**
   * Issues a certificate (EC) for {@code id}, valid for {@code hosts} too ({@code localhost} and
   * {@code 127.0.0.1} are always added), as {@code dir/fileName.crt} and {@code .key}, with the CA as
   * {@code dir/ca.crt}.
   */
  public TlsFiles issue(Path dir, String fileName, PeerIdentity id, List<String> hosts) {
    return issue(dir, fileName, List.of(SpillwayUri.of(id)), hosts, KeyType.EC, DEFAULT_VALIDITY);
  }

  /**
   * Issues a certificate with exactly the URI SANs {@code uris} (none, several, or malformed ones: a
   * test's attacker), for {@code hosts} plus {@code localhost} and {@code 127.0.0.1}.
   */
  public TlsFiles issue(Path dir, String fileName, List<String> uris, List<String> hosts, KeyType type,
      Duration validity) {
    try {
      Files.createDirectories(dir);
      KeyPair leafKeys = keyPair(type);
      Instant now = Instant.now();
      X500Name subject = new X500Name("CN=" + fileName);
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
          Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject, leafKeys.getPublic());
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(type == KeyType.RSA
          ? KeyUsage.digitalSignature | KeyUsage.keyEncipherment : KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(leafKeys.getPublic()));
      b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      List<GeneralName> sans = new ArrayList<>();
      for (String uri : uris) {
        sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
      }
      List<String> allHosts = new ArrayList<>(List.of("localhost", "127.0.0.1"));
      hosts.stream().filter(h -> !allHosts.contains(h)).forEach(allHosts::add);
      for (String h : allHosts) {
        boolean ip = IPV4.matcher(h).matches() || h.contains(":");
        sans.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, h));
      }
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans.toArray(GeneralName[]::new)));
      X509Certificate cert = sign(b, keys);
      TlsFiles files = new TlsFiles(dir.resolve(fileName + ".crt"), dir.resolve(fileName + ".key"),
          dir.resolve(CA_FILE));
      write(files.trustedCa(), pem("CERTIFICATE", der(certificate)), false);
      write(files.key(), pem("PRIVATE KEY", leafKeys.getPrivate().getEncoded()), true);
      write(files.cert(), pem("CERTIFICATE", der(cert)), false);
      return files;
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("could not issue a certificate for " + uris + ": " + e.getMessage(), e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
  }

  private static KeyPair keyPair(KeyType type) throws GeneralSecurityException {
    if (type == KeyType.RSA) {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, RANDOM);
      return g.generateKeyPair();
    }
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).setBit(63);
  }

  private static byte[] der(X509Certificate c) {
    try {
      return c.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static void write(Path file, String text, boolean secret) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        try {
          Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + file, e);
    } catch (UnsupportedOperationException noPosix) {
      throw new IllegalStateException("cannot make " + file + " readable by its owner only on this file system");
    }
  }
}
