package io.spillway.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import io.spillway.protocol.v1.Op;
import java.net.InetSocketAddress;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The SDK's own Netty channel ({@link SpillwayClient#connect}) against a server on loopback. */
class NettyLoopbackTest {

  private final FakeGpuService fake = new FakeGpuService();
  private Server server;

  @BeforeEach
  void start() throws Exception {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(fake).build().start();
  }

  @AfterEach
  void stop() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void bulkDataAndPipelinedOpsOverARealTransport() {
    byte[] data = new byte[9 << 20];
    new Random(1).nextBytes(data);
    try (SpillwayClient client = SpillwayClient.connect("127.0.0.1:" + server.getPort());
       GpuSession gpu = client.open(SliceRequest.builder().tenant("t").memoryBytes(64L << 20).build())) {
      DeviceBuffer b = gpu.alloc(data.length);
      gpu.write(b, 0, data);
      Module m = gpu.loadModule(new byte[] {1}, "k");
      for (int i = 0; i < 1000; i++) {
        gpu.launch(m, "step", Dim3.of(1), Dim3.of(32), KernelArg.ptr(b, 4L * i));
      }
      gpu.launch(m, "fail", Dim3.of(1), Dim3.of(1));
      SpillwayException e = assertThrows(SpillwayException.class, gpu::synchronize);
      assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
      assertArrayEquals(data, gpu.read(b, 0, data.length));
    }
    assertEquals(9, fake.ops().stream().filter(Op::hasWrite).count(), "9 MiB in 1 MiB chunks");
    assertEquals(Op.KindCase.CLOSE, fake.ops().get(fake.ops().size() - 1).getKindCase());
  }
}
