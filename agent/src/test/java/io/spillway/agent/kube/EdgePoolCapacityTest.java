package io.spillway.agent.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The edge's {@code GET /pool} view (the edge gateway's PoolResource shape) read for device health. */
class EdgePoolCapacityTest {

  static final String POOL = """
      {"gpus":[
        {"node":"gpu-1","nodeState":"UP","gpuIndex":0,"model":"V100","memoryTotalBytes":17179869184,
         "memoryReserveBytes":1073741824,"memoryAllocatedBytes":8589934592,"memoryFreeBytes":7516192768,"sessions":1},
        {"node":"gpu-1","nodeState":"UP","gpuIndex":1,"model":"V100","memoryTotalBytes":17179869184,
         "memoryReserveBytes":1073741824,"memoryAllocatedBytes":0,"memoryFreeBytes":16106127360,"sessions":0},
        {"node":"gpu-2","nodeState":"DOWN","gpuIndex":0,"model":"P40","memoryTotalBytes":25769803776,
         "memoryReserveBytes":0,"memoryAllocatedBytes":0,"memoryFreeBytes":0,"sessions":0}],
       "nodes":[],"totals":{"cards":3,"cardsUp":2},"sessions":[],"spill":null}
      """;

  @Test
  void usableMemoryIsTotalLessReserveOverTheCardsOfUpNodes() throws Exception {
    AtomicInteger status = new AtomicInteger(200);
    HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.createContext("/pool", ex -> {
      byte[] b = POOL.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status.get(), b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    http.start();
    try {
      EdgePoolCapacity c = new EdgePoolCapacity(URI.create("http://127.0.0.1:" + http.getAddress().getPort()));
      assertEquals(2 * (16L << 30) - 2 * (1L << 30), c.usableBytes().getAsLong(),
          "allocated memory still counts (it is the pods'); the DOWN node's card does not");
      status.set(503);
      assertTrue(c.usableBytes().isEmpty(), "an edge that cannot answer leaves health as it was");
    } finally {
      http.stop(0);
    }
  }
}
