package io.spillway.images;

import java.util.List;
import java.util.Map;

/**
 * cert-manager.io/v1 {@code Certificate} and {@code Issuer}, as typed records of the fields of
 * cert-manager's API reference (no model of them is published where this build resolves from). Read with
 * unknown properties failing, like the other kinds; enums are the API's.
 */
final class CertManager {
  private CertManager() {}

  record ObjectMeta(String name, String namespace, Map<String, String> labels, Map<String, String> annotations) {}

  record Certificate(String apiVersion, String kind, ObjectMeta metadata, CertificateSpec spec) {}

  record CertificateSpec(String secretName, String commonName, String duration, String renewBefore,
      List<String> dnsNames, List<String> uris, List<String> ipAddresses, List<String> emailAddresses,
      Boolean isCA, List<Usage> usages, PrivateKey privateKey, IssuerRef issuerRef, Map<String, Object> subject,
      Map<String, Object> secretTemplate, Integer revisionHistoryLimit) {}

  record PrivateKey(Algorithm algorithm, Integer size, Encoding encoding, RotationPolicy rotationPolicy) {}

  record IssuerRef(String name, String kind, String group) {}

  enum Algorithm { RSA, ECDSA, Ed25519 }

  enum Encoding { PKCS1, PKCS8 }

  enum RotationPolicy { Never, Always }

  enum Usage {
    @com.fasterxml.jackson.annotation.JsonProperty("signing") SIGNING,
    @com.fasterxml.jackson.annotation.JsonProperty("digital signature") DIGITAL_SIGNATURE,
    @com.fasterxml.jackson.annotation.JsonProperty("content commitment") CONTENT_COMMITMENT,
    @com.fasterxml.jackson.annotation.JsonProperty("key encipherment") KEY_ENCIPHERMENT,
    @com.fasterxml.jackson.annotation.JsonProperty("key agreement") KEY_AGREEMENT,
    @com.fasterxml.jackson.annotation.JsonProperty("data encipherment") DATA_ENCIPHERMENT,
    @com.fasterxml.jackson.annotation.JsonProperty("cert sign") CERT_SIGN,
    @com.fasterxml.jackson.annotation.JsonProperty("crl sign") CRL_SIGN,
    @com.fasterxml.jackson.annotation.JsonProperty("server auth") SERVER_AUTH,
    @com.fasterxml.jackson.annotation.JsonProperty("client auth") CLIENT_AUTH
  }

  record Issuer(String apiVersion, String kind, ObjectMeta metadata, IssuerSpec spec) {}

  record IssuerSpec(SelfSigned selfSigned, CaIssuer ca) {}

  record SelfSigned(List<String> crlDistributionPoints) {}

  record CaIssuer(String secretName, List<String> crlDistributionPoints, List<String> ocspServers) {}
}
