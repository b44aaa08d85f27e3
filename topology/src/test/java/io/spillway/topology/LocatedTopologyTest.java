package io.spillway.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A loaded topology says where its values were written, defaults at their nearest written ancestor. */
class LocatedTopologyTest {

  @Test
  void pointsAtTheLineOfEachValue() throws Exception {
    Path file = Path.of("examples", "province.yaml");
    LocatedTopology t = TopologyLoader.loadLocated(file);
    assertEquals("province", t.topology().name());
    assertEquals(file + ":13", t.where("kafka.port"));
    assertEquals(file + ":58", t.where("edges[0].gateway.grpcPort"));
    assertEquals(file + ":93", t.where("edges[1].gpuServers[0].nodePort"));
  }

  @Test
  void aDefaultPointsAtItsParent() throws Exception {
    LocatedTopology t = TopologyLoader.parseLocated("""
        name: t
        kafka:
          embedded: true
        center:
          gateways:
            - {name: c, host: 127.0.0.1, grpcPort: 1, httpPort: 2}
          gpuServers:
            - name: g
              host: 127.0.0.1
              nodePort: 3
              gpus: [{model: A100, memory: 80GiB, count: 1}]
        edges:
          - name: e
            gateway: {host: 127.0.0.1, grpcPort: 4, httpPort: 5}
            gpuServers: []
        """, "t.yaml");
    assertEquals(9092, t.topology().kafka().port());
    assertEquals("t.yaml:3", t.where("kafka.port"));
  }
}
