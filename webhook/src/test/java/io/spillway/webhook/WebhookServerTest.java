package io.spillway.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The webhook over real HTTPS with PEM files as cert-manager mounts them (made here by openssl). */
class WebhookServerTest {

  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    java.util.List<String> cmd = new java.util.ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(java.util.List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      assumeTrue(false, "openssl is not on the PATH: no PEM files to serve the webhook's TLS with");
      return;
    }
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), out);
  }

  static void certificate(Path dir, String cn, String cert, String key) throws Exception {
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
        "-subj", "/CN=" + cn, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
  }

  static HttpClient trusting(Path... certs) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    int i = 0;
    for (Path c : certs) {
      ks.setCertificateEntry("ca" + i++, PemTls.certificates(Files.readString(c), c).get(0));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return HttpClient.newBuilder().sslContext(ctx).build();
  }

  @Test
  void servesReviewsOverTlsFromPemFilesAndPicksUpARotatedCertificate() throws Exception {
    certificate(dir, "webhook-one", "one.crt", "one.key");
    certificate(dir, "webhook-two", "two.crt", "two.pkcs8.key");
    // cert-manager's default RSA encoding is PKCS#1.
    openssl(dir, "rsa", "-in", "two.pkcs8.key", "-traditional", "-out", "two.key");
    assertTrue(Files.readString(dir.resolve("two.key")).contains("BEGIN RSA PRIVATE KEY"));
    Path crt = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    Files.copy(dir.resolve("one.crt"), crt);
    Files.copy(dir.resolve("one.key"), key);
    WebhookConfig config = new WebhookConfig(0, crt, key, WebhookConfig.RESOURCE, 1L << 30, Map.of("V100", 16L << 30),
        WebhookConfig.SYSTEM_NAMESPACES, WebhookConfig.SHIM_DIR);
    try (WebhookServer server = WebhookServer.start(config)) {
      HttpClient client = trusting(dir.resolve("one.crt"), dir.resolve("two.crt"));
      URI base = URI.create("https://127.0.0.1:" + server.port());
      byte[] review = AdmissionTest.review(AdmissionTest.podOf(AdmissionTest.yaml("deployment.yaml")), "team-a");
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(base.resolve("/mutate"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(review)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      JsonNode out = JSON.readTree(r.body());
      assertTrue(out.path("response").path("allowed").asBoolean());
      assertEquals("JSONPatch", out.path("response").path("patchType").asText());
      assertEquals("CN=webhook-one", subject(r.sslSession().orElseThrow()));

      HttpResponse<String> bad = client.send(HttpRequest.newBuilder(base.resolve("/mutate"))
          .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(400, bad.statusCode());
      assertTrue(bad.body().startsWith("apiVersion/kind: expected admission.k8s.io/v1 AdmissionReview"), bad.body());

      Files.copy(dir.resolve("two.crt"), crt, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.copy(dir.resolve("two.key"), key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      FileTime later = FileTime.from(Instant.now().plusSeconds(5));
      Files.setLastModifiedTime(crt, later);
      Files.setLastModifiedTime(key, later);
      HttpClient fresh = trusting(dir.resolve("one.crt"), dir.resolve("two.crt"));
      HttpResponse<String> h = fresh.send(HttpRequest.newBuilder(base.resolve("/healthz")).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, h.statusCode());
      assertEquals("ok", h.body());
      assertEquals("CN=webhook-two", subject(h.sslSession().orElseThrow()), "the rotated certificate is served");
    }
  }

  static String subject(SSLSession s) throws Exception {
    return ((X509Certificate) s.getPeerCertificates()[0]).getSubjectX500Principal().getName();
  }

  @Test
  void refusesToStartWithoutTls() {
    WebhookConfig config = new WebhookConfig(0, null, null, WebhookConfig.RESOURCE, 1, Map.of(), Set.of(), "/x");
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> WebhookServer.start(config));
    assertTrue(e.getMessage().startsWith("tls-cert and tls-key must be set"));
  }
}
