package io.spillway.lease;

import java.util.concurrent.CountDownLatch;

/**
 * An embedded single-node KRaft broker in its own process, for {@code spillway up}: prints
 * {@code READY 127.0.0.1:PORT} once it serves, and stops (deleting its data) on SIGTERM.
 *
 * <p>Usage: {@code KafkaMain [PORT]} (0 or none: a free port).
 */
public final class KafkaMain {
  private KafkaMain() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    EmbeddedKafka kafka = new EmbeddedKafka().onPort(port);
    String bootstrap = kafka.start();
    LeaseTopics.ensure(bootstrap, (short) 1);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      kafka.close();
      stopped.countDown();
    }, "spillway-kafka-shutdown"));
    System.out.println("READY " + bootstrap);
    stopped.await();
  }
}
