package io.spillway.chaos;

import io.spillway.client.DeviceInfo;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.time.Duration;
import java.util.List;

/**
 * One inference service: its own connection and session to the edge gateway, MLP requests one after
 * the other, each checked against the CPU. When a request or an open fails it closes the session, waits
 * a moment and opens a new one, so a failure never ends the load.
 */
final class LoadClient implements Runnable {

  /** The client name a session of client {@code index} carries, as the gateways' /sessions show it. */
  static String clientName(int index) {
    return "chaos-" + index;
  }

  /** The client index of a /sessions "client" field, or -1. */
  static int indexOf(String clientName) {
    if (clientName == null || !clientName.startsWith("chaos-")) {
      return -1;
    }
    try {
      return Integer.parseInt(clientName.substring(6));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private final int index;
  private final String tenant;
  private final String target;
  private final java.util.function.Function<SpillwayClient.Options, SpillwayClient> connect;
  private final MlpModel model;
  private final int batch;
  private final long sliceBytes;
  private final Duration think;
  private final Duration requestTimeout;
  private final Recorder recorder;
  private volatile boolean stop;
  private volatile String where = "";
  private volatile long lastCorrectNanos;
  private volatile int sessionsOpened;
  private final Thread thread;

  /**
   * @param tenant the tenant its sessions open as
   * @param connect makes the client of the edge (TLS as the federation runs it, with {@code tenant}'s
   *     token) from its options
   */
  LoadClient(int index, String tenant, String target,
      java.util.function.Function<SpillwayClient.Options, SpillwayClient> connect, MlpModel model, int batch,
      long sliceBytes, Duration think, Duration requestTimeout, Recorder recorder) {
    this.index = index;
    this.tenant = tenant;
    this.target = target;
    this.connect = connect;
    this.model = model;
    this.batch = batch;
    this.sliceBytes = sliceBytes;
    this.think = think;
    this.requestTimeout = requestTimeout;
    this.recorder = recorder;
    this.thread = new Thread(this, "chaos-client-" + index);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void stop() {
    stop = true;
  }

  /** Waits for the thread to end; false if it did not within {@code timeout}. */
  boolean join(Duration timeout) throws InterruptedException {
    thread.join(timeout.toMillis());
    return !thread.isAlive();
  }

  int index() {
    return index;
  }

  /** pool/node of the session now, or empty while it has none. */
  String where() {
    return where;
  }

  long lastCorrectNanos() {
    return lastCorrectNanos;
  }

  int sessionsOpened() {
    return sessionsOpened;
  }

  @Override
  public void run() {
    SpillwayClient.Options options = SpillwayClient.Options.defaults().withOpenTimeout(requestTimeout)
        .withReplyTimeout(requestTimeout).withCloseTimeout(Duration.ofSeconds(5));
    SliceRequest slice = SliceRequest.builder().tenant(tenant).memoryBytes(sliceBytes).computePercent(0)
        .clientName(clientName(index)).build();
    long seq = 0;
    try (SpillwayClient client = connect.apply(options)) {
      GpuSession gpu = null;
      MlpService service = null;
      String device = "";
      while (!stop) {
        if (gpu == null) {
          Phase p = recorder.current();
          long t0 = System.nanoTime();
          try {
            gpu = client.open(slice);
            service = new MlpService(gpu, model, batch);
            device = describe(gpu.devices());
            where = device;
            sessionsOpened++;
            recorder.opened(p);
          } catch (RuntimeException e) {
            recorder.failed(p, index, t0, System.nanoTime(), e, true);
            closeQuietly(gpu);
            gpu = null;
            where = "";
            pause(Duration.ofMillis(250));
            continue;
          }
        }
        float[] x = model.randomInput(index * 1_000_000L + seq++, batch);
        Phase p = recorder.current();
        long t0 = System.nanoTime();
        try {
          float[] y = service.infer(x, batch);
          long t1 = System.nanoTime();
          float diff = MlpModel.maxAbsDiff(y, model.forwardCpu(x, batch));
          recorder.answered(p, index, t0, t1, diff);
          if (diff <= recorder.tolerance()) {
            lastCorrectNanos = t1;
          }
          String now = describe(gpu.devices());
          if (!now.equals(device)) {
            recorder.current().moved.increment();
            device = now;
            where = now;
          }
        } catch (RuntimeException e) {
          recorder.failed(p, index, t0, System.nanoTime(), e, false);
          closeQuietly(gpu);
          gpu = null;
          service = null;
          where = "";
          pause(Duration.ofMillis(250));
          continue;
        }
        pause(think);
      }
      closeQuietly(gpu);
    } catch (RuntimeException e) {
      recorder.current().note("client " + index + " ended: " + e);
    }
  }

  private static String describe(List<DeviceInfo> devices) {
    if (devices == null || devices.isEmpty()) {
      return "?";
    }
    DeviceInfo d = devices.get(0);
    return d.pool() + "/" + d.node() + "/" + d.gpuUuid();
  }

  private static void closeQuietly(GpuSession gpu) {
    if (gpu == null) {
      return;
    }
    try {
      gpu.close();
    } catch (RuntimeException ignored) {
      // the session already failed; its end does not matter
    }
  }

  private void pause(Duration d) {
    if (d.isZero()) {
      return;
    }
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop = true;
    }
  }
}
