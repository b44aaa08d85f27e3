package io.spillway.launcher;

import io.spillway.client.DeviceInfo;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.node.NodeMain;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code spillway demo}: starts a GPU node in its own process and runs MLP inference for several
 * tenants through the SDK, sharing the node's cards, checking every answer against the CPU.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start a GPU node and run MLP inference for several tenants through the SDK.")
public final class DemoCommand implements Callable<Integer> {

  @Option(names = "--tenants", defaultValue = "6", description = "Concurrent tenants (default: ${DEFAULT-VALUE}).")
  int tenants;

  @Option(names = "--requests", defaultValue = "40", description = "Requests per tenant (default: ${DEFAULT-VALUE}).")
  int requests;

  @Option(names = "--batch", defaultValue = "32", description = "Rows per request (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--cards", defaultValue = "2", description = "Cards the node presents with the host driver (default: ${DEFAULT-VALUE}).")
  int cards;

  @Option(names = "--driver", defaultValue = "auto", description = "auto, jcuda or host (default: ${DEFAULT-VALUE}).")
  String driver;

  private record TenantResult(String tenant, DeviceInfo device, int requests, int correct, Histogram latency,
      long parameterBytes) {}

  @Override
  public Integer call() throws Exception {
    Path logs = Files.createTempDirectory("spillway-demo-");
    long t0 = System.nanoTime();
    System.out.println("Starting a GPU node (" + cards + " x V100 32GiB when no CUDA driver is present) ...");
    try (ChildProcess node = ChildProcess.start("gpu-node", NodeMain.class.getName(), List.of(
        "--port", "0", "--node-id", "demo-node", "--pool", "local", "--driver", driver,
        "--host-cards", String.valueOf(cards), "--host-model", "V100", "--host-memory", "32GiB"), logs)) {
      String address = node.awaitReady(60, TimeUnit.SECONDS);
      System.out.printf(Locale.ROOT, "GPU node pid %d ready at %s in %.1f s (log: %s)%n", node.pid(), address,
          (System.nanoTime() - t0) / 1e9, logs.resolve("gpu-node.log"));
      MlpModel model = MlpModel.random(2026, 256, 512, 512, 10);
      List<TenantResult> results = new ArrayList<>();
      try (SpillwayClient client = SpillwayClient.connect(address)) {
        ExecutorService pool = Executors.newFixedThreadPool(tenants);
        List<Future<TenantResult>> futures = new ArrayList<>();
        for (int t = 0; t < tenants; t++) {
          String tenant = "tenant-" + (char) ('a' + t);
          int seed = t;
          futures.add(pool.submit(() -> runTenant(client, tenant, model, seed)));
        }
        for (Future<TenantResult> f : futures) {
          results.add(f.get(10, TimeUnit.MINUTES));
        }
        pool.shutdown();
      }
      print(results, (System.nanoTime() - t0) / 1e9);
      boolean allCorrect = results.stream().allMatch(r -> r.correct == r.requests);
      node.close();
      deleteLogs(logs);
      return allCorrect ? 0 : 1;
    }
  }

  private TenantResult runTenant(SpillwayClient client, String tenant, MlpModel model, int seed) {
    // 4 GiB of a 32 GiB card and a quarter of its compute: eight such tenants share one card.
    SliceRequest slice = SliceRequest.builder().tenant(tenant).memoryBytes(4L << 30).computePercent(25)
        .clientName("demo/" + tenant).build();
    try (GpuSession gpu = client.open(slice)) {
      MlpService service = new MlpService(gpu, model, batch);
      Histogram latency = new Histogram(3_600_000_000_000L, 3);
      int correct = 0;
      for (int i = 0; i < requests; i++) {
        float[] x = model.randomInput(seed * 100_000L + i, batch);
        long start = System.nanoTime();
        float[] y = service.infer(x, batch);
        latency.recordValue(System.nanoTime() - start);
        if (MlpModel.maxAbsDiff(y, model.forwardCpu(x, batch)) <= 1e-4f) {
          correct++;
        }
      }
      return new TenantResult(tenant, gpu.devices().get(0), requests, correct, latency, model.parameterBytes());
    }
  }

  private static void print(List<TenantResult> results, double seconds) {
    System.out.println();
    System.out.println("| tenant | card | slice | requests | correct | p50 ms | p99 ms |");
    System.out.println("| --- | --- | --- | ---: | ---: | ---: | ---: |");
    int total = 0;
    int correct = 0;
    Histogram all = new Histogram(3_600_000_000_000L, 3);
    for (TenantResult r : results) {
      System.out.printf(Locale.ROOT, "| %s | %s gpu %s (%s) | %.1f GiB, %d%% compute | %d | %d | %.2f | %.2f |%n",
          r.tenant, r.device.node(), r.device.gpuUuid(), r.device.model(),
          r.device.memoryLimitBytes() / (double) (1L << 30), r.device.computePercent(), r.requests, r.correct,
          r.latency.getValueAtPercentile(50) / 1e6, r.latency.getValueAtPercentile(99) / 1e6);
      total += r.requests;
      correct += r.correct;
      all.add(r.latency);
    }
    System.out.println();
    System.out.printf(Locale.ROOT, "%d requests, %d correct against the CPU reference, p50 %.2f ms, p99 %.2f ms, "
        + "%.1f s in all%n", total, correct, all.getValueAtPercentile(50) / 1e6,
        all.getValueAtPercentile(99) / 1e6, seconds);
    System.out.println(correct == total ? "RESULT: every result correct" : "RESULT: WRONG RESULTS");
  }

  private static void deleteLogs(Path logs) {
    try (var files = Files.list(logs)) {
      for (Path p : files.toList()) {
        Files.deleteIfExists(p);
      }
      Files.deleteIfExists(logs);
    } catch (java.io.IOException e) {
      System.err.println("could not remove " + logs + ": " + e.getMessage());
    }
  }
}
