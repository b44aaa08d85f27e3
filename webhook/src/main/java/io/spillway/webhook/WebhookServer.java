package io.spillway.webhook;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * HTTPS: {@code POST /mutate} (AdmissionReview v1 in and out) and {@code GET /healthz}. The API server is the
 * only client; it verifies us with the CA bundle of the webhook configuration.
 */
public final class WebhookServer implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(WebhookServer.class.getName());
  /** Above the API server's own request limit (3 MiB): a larger body is not a review. */
  static final int MAX_BODY_BYTES = 4 << 20;

  private final HttpsServer server;
  private final ExecutorService executor;
  private final Admission admission;

  private WebhookServer(HttpsServer server, ExecutorService executor, Admission admission) {
    this.server = server;
    this.executor = executor;
    this.admission = admission;
  }

  public static WebhookServer start(WebhookConfig config) throws IOException, GeneralSecurityException {
    if (config.tlsCert() == null || config.tlsKey() == null) {
      throw new IllegalArgumentException("tls-cert and tls-key must be set: the API server calls webhooks over HTTPS only");
    }
    PemTls tls = new PemTls(config.tlsCert(), config.tlsKey());
    HttpsServer https = HttpsServer.create(new InetSocketAddress(config.port()), 64);
    https.setHttpsConfigurator(new HttpsConfigurator(tls.context()));
    ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "spillway-webhook");
      t.setDaemon(true);
      return t;
    });
    https.setExecutor(executor);
    WebhookServer s = new WebhookServer(https, executor, new Admission(new PodMutator(config)));
    https.createContext("/mutate", s::mutate);
    https.createContext("/healthz", s::health);
    https.start();
    LOG.info("spillway webhook on https port " + s.port() + " (/mutate, /healthz), resource " + config.resource());
    return s;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private void mutate(HttpExchange ex) throws IOException {
    try (ex) {
      if (!"POST".equals(ex.getRequestMethod())) {
        send(ex, 405, "text/plain", "POST an AdmissionReview to /mutate");
        return;
      }
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readNBytes(MAX_BODY_BYTES + 1);
      }
      if (body.length > MAX_BODY_BYTES) {
        send(ex, 413, "text/plain", "the review is over " + MAX_BODY_BYTES + " bytes");
        return;
      }
      try {
        send(ex, 200, "application/json", admission.review(body));
      } catch (Admission.BadReview e) {
        send(ex, 400, "text/plain", e.getMessage());
      } catch (RuntimeException e) {
        LOG.warning("review failed: " + e);
        send(ex, 500, "text/plain", "the webhook failed: " + e.getMessage());
      }
    }
  }

  private void health(HttpExchange ex) throws IOException {
    try (ex) {
      send(ex, 200, "text/plain", "ok");
    }
  }

  private static void send(HttpExchange ex, int code, String type, String text) throws IOException {
    send(ex, code, type, text.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange ex, int code, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(code, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
