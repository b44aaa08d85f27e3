package io.spillway.security.tls;

import io.spillway.security.PeerIdentity;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Reads the component a (verified) certificate names. */
public final class PeerCertificates {
  private PeerCertificates() {}

  /** Subject alternative name type of a URI (RFC 5280, GeneralName uniformResourceIdentifier). */
  private static final int URI_SAN = 6;

  /** Why a certificate names no component. */
  public static final class NoIdentity extends Exception {
    NoIdentity(String message) {
      super(message);
    }
  }

  /**
   * The component {@code cert} names in its one {@code spillway://} URI SAN.
   *
   * @throws NoIdentity when it has none, several, or one that does not parse (saying which)
   */
  public static PeerIdentity identity(X509Certificate cert) throws NoIdentity {
    List<String> uris = new ArrayList<>();
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (san.size() >= 2 && Integer.valueOf(URI_SAN).equals(san.get(0)) && san.get(1) instanceof String s
              && SpillwayUri.isSpillway(s)) {
            uris.add(s);
          }
        }
      }
    } catch (CertificateParsingException e) {
      throw new NoIdentity("certificate of " + cert.getSubjectX500Principal() + ": its subject alternative names"
          + " do not parse: " + e.getMessage());
    }
    if (uris.isEmpty()) {
      throw new NoIdentity("certificate of " + cert.getSubjectX500Principal() + " (serial "
          + cert.getSerialNumber().toString(16) + ") has no spillway:// URI SAN");
    }
    if (uris.size() > 1) {
      throw new NoIdentity("certificate of " + cert.getSubjectX500Principal() + " names several components "
          + uris + "; it must name one");
    }
    try {
      return SpillwayUri.parse(uris.get(0));
    } catch (SpillwayUri.InvalidUri e) {
      throw new NoIdentity("certificate of " + cert.getSubjectX500Principal() + ": " + e.getMessage());
    }
  }
}
