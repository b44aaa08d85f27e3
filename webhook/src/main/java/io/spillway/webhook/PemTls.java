package io.spillway.webhook;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509KeyManager;

/**
 * The server's TLS from PEM files (cert-manager's {@code tls.crt} and {@code tls.key}), read again when either
 * file changes, so a rotated certificate is served from the next handshake without a restart.
 */
final class PemTls extends X509ExtendedKeyManager {

  private static final Logger LOG = Logger.getLogger(PemTls.class.getName());
  private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
  private static final char[] NO_PASSWORD = new char[0];

  private final Path cert;
  private final Path key;
  private volatile X509KeyManager current;
  private volatile FileTime certTime;
  private volatile FileTime keyTime;

  PemTls(Path cert, Path key) throws IOException, GeneralSecurityException {
    this.cert = cert;
    this.key = key;
    load();
  }

  SSLContext context() throws GeneralSecurityException {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(new javax.net.ssl.KeyManager[] {this}, null, null);
    return ctx;
  }

  private synchronized void load() throws IOException, GeneralSecurityException {
    FileTime ct = Files.getLastModifiedTime(cert);
    FileTime kt = Files.getLastModifiedTime(key);
    List<Certificate> chain = certificates(Files.readString(cert, StandardCharsets.US_ASCII), cert);
    PrivateKey pk = privateKey(Files.readString(key, StandardCharsets.US_ASCII), key);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("webhook", pk, NO_PASSWORD, chain.toArray(Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, NO_PASSWORD);
    current = (X509KeyManager) kmf.getKeyManagers()[0];
    certTime = ct;
    keyTime = kt;
  }

  private X509KeyManager keys() {
    try {
      if (!Files.getLastModifiedTime(cert).equals(certTime) || !Files.getLastModifiedTime(key).equals(keyTime)) {
        load();
        LOG.info("reloaded the TLS certificate from " + cert);
      }
    } catch (IOException | GeneralSecurityException e) {
      LOG.warning("the TLS files changed but cannot be read (" + e.getMessage() + "); serving the previous certificate");
    }
    return current;
  }

  static List<Certificate> certificates(String pem, Path file) throws GeneralSecurityException, IOException {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<Certificate> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      if (m.group(1).equals("CERTIFICATE")) {
        out.add(cf.generateCertificate(new ByteArrayInputStream(Base64.getMimeDecoder().decode(m.group(2)))));
      }
    }
    if (out.isEmpty()) {
      throw new IOException(file + ": no CERTIFICATE block");
    }
    return out;
  }

  static PrivateKey privateKey(String pem, Path file) throws GeneralSecurityException, IOException {
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      switch (m.group(1)) {
        case "PRIVATE KEY" -> {
          for (String alg : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
              return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
              // try the next algorithm
            }
          }
          throw new IOException(file + ": a PKCS#8 key that is neither RSA, EC nor Ed25519");
        }
        case "RSA PRIVATE KEY" -> {
          return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs1ToPkcs8(der)));
        }
        default -> {
          // other blocks (EC PARAMETERS, ...) are skipped
        }
      }
    }
    throw new IOException(file + ": no PRIVATE KEY or RSA PRIVATE KEY block (SEC1 EC keys: set the Certificate's "
        + "privateKey.encoding to PKCS8)");
  }

  /** Wraps a PKCS#1 RSAPrivateKey in PKCS#8's PrivateKeyInfo (version 0, rsaEncryption, the key as an octet string). */
  static byte[] pkcs1ToPkcs8(byte[] pkcs1) {
    byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    byte[] version = {0x02, 0x01, 0x00};
    byte[] octets = der(0x04, pkcs1);
    byte[] body = new byte[version.length + algorithm.length + octets.length];
    System.arraycopy(version, 0, body, 0, version.length);
    System.arraycopy(algorithm, 0, body, version.length, algorithm.length);
    System.arraycopy(octets, 0, body, version.length + algorithm.length, octets.length);
    return der(0x30, body);
  }

  private static byte[] der(int tag, byte[] content) {
    int n = content.length;
    byte[] len;
    if (n < 0x80) {
      len = new byte[] {(byte) n};
    } else if (n < 0x100) {
      len = new byte[] {(byte) 0x81, (byte) n};
    } else if (n < 0x10000) {
      len = new byte[] {(byte) 0x82, (byte) (n >> 8), (byte) n};
    } else {
      len = new byte[] {(byte) 0x83, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
    }
    byte[] out = new byte[1 + len.length + n];
    out[0] = (byte) tag;
    System.arraycopy(len, 0, out, 1, len.length);
    System.arraycopy(content, 0, out, 1 + len.length, n);
    return out;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return keys().getServerAliases(keyType, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return keys().chooseServerAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return keys().chooseServerAlias(keyType, issuers, null);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return current.getCertificateChain(alias);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return current.getPrivateKey(alias);
  }
}
