package io.spillway.kafka;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * An embedded single-node KRaft broker in its own process, for {@code spillway up}: prints
 * {@code READY 127.0.0.1:PORT} once it serves, and stops on SIGTERM.
 *
 * <p>Usage: {@code KafkaMain [PORT [DATA_DIR]]} (PORT 0 or none: a free port). Without DATA_DIR the broker
 * keeps its data in a temporary directory deleted when it stops. With DATA_DIR it keeps its data there
 * (created and formatted on first use) and leaves it in place when it stops or is killed, so a broker
 * started again with the same PORT and DATA_DIR comes back with its topics, offsets and records (the
 * lease log survives), which is what a chaos test that stops the broker needs.
 *
 * <p>The broker starts with no topics, as a real cluster would: each center replica creates the lease
 * topics at its start, before it reports ready, and the launcher starts edges after the centers.
 */
public final class KafkaMain {
  private KafkaMain() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    EmbeddedKafka kafka = new EmbeddedKafka().onPort(port);
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
