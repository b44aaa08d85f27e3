package io.spillway.kafka;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * An embedded single-node KRaft broker in its own process, for {@code spillway up}: prints
 * {@code READY 127.0.0.1:PORT} once it serves, and stops on SIGTERM.
 *
 * <p>Usage: {@code KafkaMain [--secured BROKER_PASSWORD_FILE [--tls CERT KEY CA]] [PORT [DATA_DIR]]}
 * (PORT 0 or none: a free port). With {@code --secured} the broker authenticates and authorizes ({@link
 * EmbeddedKafka#secured}) with super user {@value #BROKER_USER}, whose password is the file's first line;
 * whoever starts the broker then creates the other users and their ACLs. With {@code --tls} too, clients
 * connect over SASL_SSL with the broker's PEM certificate, key and CA ({@link EmbeddedKafka#withTls}). Without DATA_DIR the broker
 * keeps its data in a temporary directory deleted when it stops. With DATA_DIR it keeps its data there
 * (created and formatted on first use) and leaves it in place when it stops or is killed, so a broker
 * started again with the same PORT and DATA_DIR comes back with its topics, offsets and records (the
 * lease log survives), which is what a chaos test that stops the broker needs.
 *
 * <p>The broker starts with no topics, as a real cluster would: each center replica creates the lease
 * topics at its start, before it reports ready, and the launcher starts edges after the centers.
 */
public final class KafkaMain {
  /** The super user of a broker started {@code --secured}. */
  public static final String BROKER_USER = "broker";

  private KafkaMain() {}

  public static void main(String[] argv) throws Exception {
    java.util.List<String> rest = new java.util.ArrayList<>(java.util.List.of(argv));
    String password = null;
    int flag = rest.indexOf("--secured");
    if (flag >= 0) {
      if (flag + 1 >= rest.size()) {
        throw new IllegalArgumentException("--secured needs the file of the broker's password");
      }
      password = Files.readAllLines(Path.of(rest.get(flag + 1))).get(0).trim();
      rest.subList(flag, flag + 2).clear();
    }
    EmbeddedKafka.Tls tls = null;
    int tlsFlag = rest.indexOf("--tls");
    if (tlsFlag >= 0) {
      if (tlsFlag + 3 >= rest.size()) {
        throw new IllegalArgumentException("--tls needs the broker's certificate, key and CA files (PEM)");
      }
      tls = new EmbeddedKafka.Tls(Path.of(rest.get(tlsFlag + 1)), Path.of(rest.get(tlsFlag + 2)),
          Path.of(rest.get(tlsFlag + 3)));
      rest.subList(tlsFlag, tlsFlag + 4).clear();
    }
    String[] args = rest.toArray(String[]::new);
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    EmbeddedKafka kafka = new EmbeddedKafka().onPort(port);
    if (password != null) {
      kafka.secured(BROKER_USER, password);
    }
    if (tls != null) {
      kafka.withTls(tls);
    }
    String bootstrap;
    if (args.length > 1) {
      Path dir = Path.of(args[1]);
      Files.createDirectories(dir);
      bootstrap = kafka.start(dir);
    } else {
      bootstrap = kafka.start();
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      kafka.close();
      stopped.countDown();
    }, "spillway-kafka-shutdown"));
    System.out.println("READY " + bootstrap);
    stopped.await();
  }
}
