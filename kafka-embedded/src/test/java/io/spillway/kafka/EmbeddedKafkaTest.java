package io.spillway.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {

  @Test
  void aRecordWrittenBeforeARestartOnTheSameDirectoryIsReadAfterIt(@TempDir Path dir) throws Exception {
    EmbeddedKafka first = new EmbeddedKafka();
    String bootstrap = first.start(dir);
    try {
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        admin.createTopics(List.of(new NewTopic("t", 1, (short) 1))).all().get();
      }
      try (KafkaProducer<String, String> producer = producer(bootstrap)) {
        producer.send(new ProducerRecord<>("t", "k", "before restart")).get();
      }
    } finally {
      first.stop();
    }
    assertFalse(Files.notExists(dir.resolve("kraft-logs")), "a caller's data directory is kept");

    EmbeddedKafka second = new EmbeddedKafka();
    String again = second.start(dir);
    try {
      assertEquals(List.of("before restart"), readAll(again, "t"));
    } finally {
      second.stop();
    }
  }

  @Test
  void aTemporaryDirectoryIsDeletedOnStop() {
    EmbeddedKafka kafka = new EmbeddedKafka();
    kafka.start();
    Path dir = kafka.dataDir();
    kafka.stop();
    assertFalse(Files.exists(dir), dir + " should be gone");
    assertThrows(IllegalStateException.class, kafka::bootstrapServers);
  }

  private static KafkaProducer<String, String> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
    return new KafkaProducer<>(p);
  }

  private static List<String> readAll(String bootstrap, String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    TopicPartition tp = new TopicPartition(topic, 0);
    List<String> out = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
      while (consumer.position(tp, Duration.ofSeconds(30)) < end) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
          out.add(r.value());
        }
      }
    }
    return out;
  }
}
