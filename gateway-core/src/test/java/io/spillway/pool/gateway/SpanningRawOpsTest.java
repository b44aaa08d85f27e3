package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.client.DeviceBuffer;
import io.spillway.client.GpuEvent;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayException;
import org.junit.jupiter.api.Test;

/** Protocol version 2 ops in a session whose GPUs are on two servers: routed to the server that holds them. */
class SpanningRawOpsTest {

  private static final long GIB = 1L << 30;

  @Test
  void copiesAndMemsetsRunOnTheServerOfTheirBuffersAndEventsAreRefused() throws Exception {
    try (TestPool pool = new TestPool()) {
      pool.addNode("node-a", 1, "V100", 32 * GIB);
      pool.addNode("node-b", 1, "V100", 32 * GIB);
      try (GpuSession gpu = pool.client().open(SliceRequest.builder().tenant("t").gpuCount(2)
          .memoryBytes(GIB).build())) {
        assertNotEquals(gpu.devices().get(0).node(), gpu.devices().get(1).node(), "one GPU per server");
        DeviceBuffer a = gpu.alloc(8, 1);
        DeviceBuffer b = gpu.alloc(8, 1);
        gpu.memset(a, 0, 2, 0x0102, 4);
        gpu.copy(b, 4, a, 0, 4);
        assertArrayEquals(new byte[] {0, 0, 0, 0, 2, 1, 2, 1}, gpu.read(b, 0, 8));

        GpuEvent e = gpu.createEvent();
        gpu.record(e);
        SpillwayException refused = assertThrows(SpillwayException.class, gpu::synchronize);
        assertEquals(Status.Code.UNIMPLEMENTED, refused.code());
        assertTrue(refused.getMessage().contains("span servers"), refused.getMessage());
        assertArrayEquals(new byte[] {2, 1, 2, 1}, gpu.read(b, 4, 4), "the session goes on");
      }
    }
  }
}
