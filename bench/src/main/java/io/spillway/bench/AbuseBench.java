package io.spillway.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.spillway.client.Dim3;
import io.spillway.client.GpuSession;
import io.spillway.client.Module;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeLimits;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.protocol.v1.Alloc;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.protocol.v1.Read;
import io.spillway.protocol.v1.Write;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * The abuse run: well-behaved tenants run MLP inference sessions through an edge gateway onto a GPU node
 * (host driver, real gRPC over loopback, one JVM), while hostile clients try, one after another, what
 * issue 15 lists. For each hostile client it reports the tenants' p99 in a quiet window just before and
 * while the hostile client runs, whether every tenant result matched the CPU reference and no tenant
 * call failed, the peaks of the JVM's heap (node and edge share it here), the edge's journal and the
 * node's card memory against their bounds, and how the hostile client was answered: the status and
 * description it got, or that it was <em>not</em> refused within the case's time.
 *
 * <p>Usage: {@code java -Xmx2g -cp bench/target/spillway-bench.jar io.spillway.bench.AbuseBench [--quick]
 * [--case NAME]...} with NAME one of {@link #CASES}. A benchmark, not a test: it prints what happened,
 * including hostile clients that got through.
 */
public final class AbuseBench {

  static final List<String> CASES = List.of("giant-frame", "bad-reads", "never-sync", "thousand-sessions",
      "slow-reader", "silent", "endless-kernel", "many-streams");

  private static final long MIB = 1 << 20;
  private static final int TENANTS = 3;
  private static final int BATCH = 8;
  /**
   * The launch deadline and first-frame timeout of this run, shorter than the defaults (5 min, 10 s) so
   * that each case ends within its window; the idle timeout likewise (default 30 min).
   */
  private static final java.time.Duration DEADLINE = java.time.Duration.ofSeconds(3);
  private static final java.time.Duration IDLE = java.time.Duration.ofSeconds(5);
  /** The reply stall timeout of this run on node and edge (default 30 s, longer than a case's window). */
  private static final java.time.Duration STALL = java.time.Duration.ofSeconds(5);

  /** A kernel that never ends: one thread branching to itself. */
  static final String SPIN_PTX = ".version 8.0\n.target sm_80\n.address_size 64\n"
      + ".visible .entry spin()\n{\nLOOP:\nbra.uni LOOP;\n}\n";

  private final boolean quick;
  private final List<String> cases;
  private final long caseMillis;
  private final long quietMillis;

  private GpuNode node;
  private GatewayCore edge;
  private ManagedChannel hostileChannel;
  private final Tenants tenants = new Tenants();
  private final Peaks peaks = new Peaks();

  private AbuseBench(boolean quick, List<String> cases) {
    this.quick = quick;
    this.cases = cases;
    this.caseMillis = quick ? 8_000 : 20_000;
    this.quietMillis = quick ? 1_500 : 3_000;
  }

  public static void main(String[] args) throws Exception {
    List<String> a = Arrays.asList(args);
    List<String> only = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i).equals("--case") && i + 1 < a.size()) {
        String c = a.get(++i);
        if (!CASES.contains(c)) {
          throw new IllegalArgumentException("--case takes one of " + CASES + ", not " + c);
        }
        only.add(c);
      }
    }
    new AbuseBench(a.contains("--quick"), only.isEmpty() ? CASES : only).run();
    // Threads a hostile client left behind (an endless kernel) must not keep the JVM up.
    System.exit(0);
  }

  /**
   * What one hostile client got.
   *
   * @param verdict refused (an error status or error replies), bounded (let run, within the bounds), or
   *     NOT refused
   */
  private record Answer(String verdict, String how) {
    Answer(boolean refused, String how) {
      this(refused ? "refused" : "**NOT refused**", how);
    }
  }

  private record Result(String name, Answer answer, double p99Before, double p99During, long inferences,
      long wrong, long failed, String tenantError, long heapPeak, long livePeak, long journalPeak, long cardPeak) {}

  private void run() throws Exception {
    NodeOptions d = NodeOptions.defaults("node-1");
    NodeLimits nodeLimits = NodeLimits.defaults().withLaunchDeadline(DEADLINE).withFirstFrameTimeout(DEADLINE)
        .withIdleTimeout(IDLE).withReplyStallTimeout(STALL);
    node = new GpuNode(new NodeOptions(d.nodeId(), d.pool(), d.reserveBytes(), d.chunkBytes(), d.maxFrameBytes(),
        d.launchWaitMillis(), nodeLimits), HostGpuDriver.withCards(2, "V100", 16L << 30));
    GatewayConfig.Limits edgeLimits = GatewayConfig.Limits.defaults().withFirstFrameTimeout(DEADLINE)
        .withIdleTimeout(IDLE).withReplyStallTimeout(STALL);
    long heapMax = Runtime.getRuntime().maxMemory();
    try (GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
        GatewayCore core = new GatewayCore(GatewayConfig.local("edge-abuse", "local").withLimits(edgeLimits),
            Clock.systemUTC(),
            GatewayListener.NONE).start();
        GatewayRegistrar registrar = new GatewayRegistrar(node, core.address(), "127.0.0.1:" + server.port(),
            500).start()) {
      edge = core;
      while (!edge.ready()) {
        Thread.sleep(10);
      }
      hostileChannel = NettyChannelBuilder.forTarget(edge.address()).usePlaintext()
          .maxInboundMessageSize(256 << 20).build();
      long cardBytes = node.gpus().stream().mapToLong(g -> g.memoryBytes()).sum();
      System.out.printf(Locale.ROOT, "%d cores, java %s, heap max %s; edge journal bound %s per session, %s"
          + " per gateway; node: %d cards of %s%n", Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.version"), mib(heapMax), mib(edge.failoverConfig().maxSessionBytes()),
          mib(edge.failoverConfig().maxGatewayBytes()), node.gpus().size(), mib(node.gpus().get(0).memoryBytes()));
      System.out.println("node limits: " + nodeLimits);
      System.out.println("edge limits: " + edgeLimits);
      tenants.start(edge.address());
      Thread sampler = new Thread(peaks::sample, "abuse-sampler");
      sampler.setDaemon(true);
      sampler.start();
      tenants.settle(quietMillis);
      List<Result> results = new ArrayList<>();
      for (String c : cases) {
        tenants.reset();
        Thread.sleep(quietMillis);
        Histogram before = tenants.histogram();
        tenants.reset();
        peaks.reset();
        long t0 = System.nanoTime();
        Answer answer;
        try {
          answer = hostile(c);
        } catch (Exception | OutOfMemoryError e) {
          answer = new Answer("**failed**", "the bench's hostile client failed: " + e);
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Histogram during = tenants.histogram();
        Tenants.Counts counts = tenants.counts();
        results.add(new Result(c, answer, before.getValueAtPercentile(99), during.getValueAtPercentile(99),
            counts.inferences(), counts.wrong(), counts.failed(), counts.firstError(), peaks.heap.get(),
            peaks.live.get(), peaks.journal.get(), peaks.card.get()));
        System.out.printf(Locale.ROOT, "%s: %s (%d ms)%n", c, answer.how(), ms);
      }
      tenants.stop();
      print(results, heapMax, cardBytes);
      hostileChannel.shutdownNow();
    }
  }

  private Answer hostile(String c) throws Exception {
    return switch (c) {
      case "giant-frame" -> giantFrame();
      case "bad-reads" -> badReads();
      case "never-sync" -> neverSync();
      case "thousand-sessions" -> thousandSessions();
      case "slow-reader" -> slowReader();
      case "silent" -> silent();
      case "endless-kernel" -> endlessKernel();
      case "many-streams" -> manyStreams();
      default -> throw new IllegalArgumentException(c);
    };
  }

  // ---- hostile clients

  private static byte[] openFrame(String tenant, long memoryBytes, Op... more) {
    ClientFrame.Builder f = ClientFrame.newBuilder().addOps(Op.newBuilder().setSeq(1).setOpen(Open.newBuilder()
        .setProtocolVersion(2).setTenant(tenant).setSlice(io.spillway.protocol.v1.SliceRequest.newBuilder()
            .setMemoryBytes(memoryBytes).setComputePercent(10))));
    for (Op op : more) {
      f.addOps(op);
    }
    return f.build().toByteArray();
  }

  private long deadline() {
    return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(caseMillis);
  }

  /** How a raw session ended up: its status if it was closed, its first error reply, or neither. */
  private String told(RawSession s, Status closed) {
    StringBuilder b = new StringBuilder();
    if (closed != null) {
      b.append("stream closed ").append(closed.getCode()).append(": ").append(closed.getDescription());
    } else {
      b.append("stream still open");
    }
    if (s.firstError.get() != null) {
      b.append("; ").append(s.errors.get()).append(" error replies, first ").append(s.firstError.get());
    }
    if (s.firstNotice.get() != null) {
      b.append("; notice ").append(s.firstNotice.get());
    }
    return b.toString();
  }

  /** Whether the stream was closed with an error or the frame was answered with error replies. */
  private static boolean refusedOrCut(RawSession s, Status closed) {
    return (closed != null && !closed.isOk()) || s.errors.get() > 0;
  }

  /** One frame of 32 Mi empty ops (64 MiB): each op fails its sequence check. */
  private Answer giantFrame() throws Exception {
    int ops = 32 << 20;
    byte[] frame = new byte[ops * 2];
    for (int i = 0; i < ops; i++) {
      frame[2 * i] = 0x0a; // ClientFrame.ops, length 0: an op with nothing set
    }
    try (RawSession s = new RawSession(hostileChannel, true)) {
      long end = deadline();
      s.send(openFrame("hostile", 64 * MIB), end);
      s.send(frame, end);
      frame = null;
      Status closed = s.awaitClose(caseMillis);
      return new Answer(refusedOrCut(s, closed), told(s, closed) + " (" + s.replies.get()
          + " replies in " + s.frames.get() + " frames)");
    }
  }

  /** One 3 MB frame of reads of a handle the session never allocated. */
  private Answer badReads() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ClientFrame.Builder f = ClientFrame.newBuilder();
    long seq = 2;
    while (f.build().getSerializedSize() < 3_000_000) {
      for (int i = 0; i < 10_000; i++) {
        f.addOps(Op.newBuilder().setSeq(seq++).setRead(Read.newBuilder().setHandle(77).setLength(4)));
      }
    }
    out.writeBytes(f.build().toByteArray());
    try (RawSession s = new RawSession(hostileChannel, true)) {
      long end = deadline();
      s.send(openFrame("hostile", 64 * MIB), end);
      s.send(out.toByteArray(), end);
      Status closed = s.awaitClose(caseMillis);
      return new Answer(refusedOrCut(s, closed), told(s, closed) + " (" + (seq - 2) + " reads sent, "
          + s.replies.get() + " replies in " + s.frames.get() + " frames)");
    }
  }

  /** Writes of 8 bytes to a scratch buffer, 16 Ki to a frame, never a synchronize, for the case's time. */
  private Answer neverSync() throws Exception {
    ClientFrame.Builder f = ClientFrame.newBuilder();
    try (RawSession s = new RawSession(hostileChannel, true)) {
      long end = deadline();
      s.send(openFrame("hostile", 64 * MIB, Op.newBuilder().setSeq(2).setAlloc(Alloc.newBuilder().setHandle(1)
          .setBytes(MIB)).build()), end);
      long seq = 3;
      long sent = 0;
      ByteString eight = ByteString.copyFrom(new byte[8]);
      while (System.nanoTime() < end && !s.closed.isDone()) {
        f.clear();
        for (int i = 0; i < 16 << 10; i++) {
          f.addOps(Op.newBuilder().setSeq(seq++).setWrite(Write.newBuilder().setHandle(1).setOffset(8L * (i % 1024))
              .setData(eight)));
        }
        if (!s.send(f.build().toByteArray(), end)) {
          break;
        }
        sent += 16 << 10;
      }
      Status closed = s.awaitClose(100);
      long bound = edge.failoverConfig().maxGatewayBytes();
      String how = told(s, closed) + " (" + sent + " writes sent; edge journal peak " + mib(peaks.journal.get())
          + ", bound " + mib(bound) + ")";
      if (refusedOrCut(s, closed)) {
        return new Answer(true, how);
      }
      return new Answer(peaks.journal.get() <= bound ? "bounded" : "**NOT bounded**", how);
    }
  }

  /** A thousand sessions of one byte and no compute, opened as fast as eight threads can. */
  private Answer thousandSessions() throws Exception {
    AtomicLong admitted = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    AtomicReference<String> firstRefusal = new AtomicReference<>();
    List<GpuSession> open = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try (SpillwayClient client = SpillwayClient.connect(edge.address())) {
      List<Future<?>> futures = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        futures.add(pool.submit(() -> {
          try {
            open.add(client.open(SliceRequest.builder().tenant("hostile").memoryBytes(1).computePercent(0).build()));
            admitted.incrementAndGet();
          } catch (SpillwayException e) {
            refused.incrementAndGet();
            firstRefusal.compareAndSet(null, e.code() + ": " + e.description());
          }
        }));
      }
      for (Future<?> f : futures) {
        f.get(caseMillis * 5, TimeUnit.MILLISECONDS);
      }
      int heldOnNode = node.sessions().size();
      // Where the admitted sessions went: a synchronize tells a live one from one already ended (by the
      // idle timeout, since this client sends nothing after its open).
      long live = 0;
      long ended = 0;
      String firstEnd = null;
      for (GpuSession s : open) {
        try {
          s.synchronize();
          live++;
        } catch (SpillwayException e) {
          ended++;
          if (firstEnd == null) {
            firstEnd = e.code() + ": " + e.description();
          }
        }
      }
      for (GpuSession s : open) {
        try {
          s.close();
        } catch (SpillwayException ignored) {
          // Closing is best effort here; what matters is what was admitted.
        }
      }
      return new Answer(refused.get() > 0, admitted.get() + " admitted, of which " + live + " still open at the"
          + " end (node held " + heldOnNode + " sessions, " + perCard() + ") and " + ended + " already ended"
          + (firstEnd == null ? "" : " (first: " + firstEnd + ")") + "; " + refused.get() + " refused"
          + (firstRefusal.get() == null ? "" : ", first " + firstRefusal.get()));
    } finally {
      pool.shutdownNow();
    }
  }

  /** Reads of a 64 MiB buffer, 32 of them, from a client that reads no reply after the first frame. */
  private Answer slowReader() throws Exception {
    ClientFrame.Builder f = ClientFrame.newBuilder();
    for (int i = 0; i < 32; i++) {
      f.addOps(Op.newBuilder().setSeq(3 + i).setRead(Read.newBuilder().setHandle(1).setLength(64 * MIB)));
    }
    try (RawSession s = new RawSession(hostileChannel, false)) {
      long end = deadline();
      s.send(openFrame("hostile", 128 * MIB, Op.newBuilder().setSeq(2).setAlloc(Alloc.newBuilder().setHandle(1)
          .setBytes(64 * MIB)).build()), end);
      s.send(f.build().toByteArray(), end);
      Status closed = s.awaitClose(caseMillis);
      String id = s.sessionId.get();
      boolean edgeEnded = edge.sessions().stream().noneMatch(i -> i.id().equals(id));
      int nodeHeld = node.sessions().size();
      String how = told(s, closed) + " (read " + mib(s.readBytes.get()) + " of " + mib(32 * 64 * MIB) + " asked)";
      if (closed == null && edgeEnded) {
        // The status waits behind the replies the client never read; reading them reaches it.
        s.readMore(Integer.MAX_VALUE);
        Status after = s.awaitClose(caseMillis);
        how = "ended by the edge within " + caseMillis / 1000 + " s (node held " + nodeHeld + " sessions then),"
            + " its status queued behind " + mib(s.readBytes.get()) + " of unread replies; once read: "
            + told(s, after);
        return new Answer(after != null && !after.isOk(), how);
      }
      return new Answer(closed != null && !closed.isOk(), how);
    }
  }

  /** A stream that sends nothing, and one that sends its open and then nothing. */
  private Answer silent() throws Exception {
    try (RawSession nothing = new RawSession(hostileChannel, true);
        RawSession opened = new RawSession(hostileChannel, true)) {
      long end = deadline();
      opened.send(openFrame("hostile", 64 * MIB), end);
      Status a = nothing.awaitClose(caseMillis / 2);
      Status b = opened.awaitClose(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
      boolean cut = a != null && b != null && !a.isOk() && !b.isOk();
      return new Answer(cut, "no first frame: " + told(nothing, a) + " | open, then silent: " + told(opened, b));
    }
  }

  /** A launch of a kernel that branches to itself forever, then a synchronize. */
  private Answer endlessKernel() throws Exception {
    SpillwayClient client = SpillwayClient.connect(edge.address());
    ExecutorService one = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "endless-kernel");
      t.setDaemon(true);
      return t;
    });
    try {
      Future<String> f = one.submit(() -> {
        try (GpuSession s = client.open(SliceRequest.builder().tenant("hostile").memoryBytes(64 * MIB)
            .computePercent(10).build())) {
          Module m = s.loadModule(SPIN_PTX.getBytes(StandardCharsets.US_ASCII), "spin.ptx");
          s.launch(m, "spin", Dim3.of(1), Dim3.of(1));
          s.synchronize();
          return "synchronize returned: the kernel ended";
        } catch (SpillwayException e) {
          return e.code() + ": " + e.description();
        }
      });
      try {
        String got = f.get(caseMillis, TimeUnit.MILLISECONDS);
        return new Answer(!got.startsWith("synchronize returned"), got);
      } catch (java.util.concurrent.TimeoutException e) {
        return new Answer(false, "no answer within " + caseMillis / 1000 + " s: the launch was still running");
      }
    } finally {
      one.shutdownNow();
      client.close();
    }
  }

  /**
   * One connection that opens as many streams as the edge serves on a connection, each sending nothing,
   * then one more that opens a session. HTTP/2's MAX_CONCURRENT_STREAMS makes the client hold the extra
   * stream until one of the others closes (here: when the first-frame timeout ends the silent ones).
   */
  private Answer manyStreams() throws Exception {
    int limit = edge.config().limits().maxStreamsPerConnection();
    ManagedChannel one = NettyChannelBuilder.forTarget(edge.address()).usePlaintext().build();
    List<RawSession> silent = new ArrayList<>();
    try {
      long end = deadline();
      for (int i = 0; i < limit; i++) {
        silent.add(new RawSession(one, true));
      }
      long t0 = System.nanoTime();
      try (RawSession extra = new RawSession(one, true)) {
        extra.send(openFrame("hostile", MIB), end);
        int edgeSessionsAtStart = edge.sessions().size();
        while (extra.sessionId.get() == null && !extra.closed.isDone() && System.nanoTime() < end) {
          Thread.sleep(10);
        }
        long waited = (System.nanoTime() - t0) / 1_000_000;
        long cut = silent.stream().filter(r -> r.closed.isDone()).count();
        String first = silent.stream().map(r -> r.closed.getNow(null)).filter(java.util.Objects::nonNull)
            .findFirst().map(st -> st.getCode() + ": " + st.getDescription()).orElse("none");
        boolean served = extra.sessionId.get() != null;
        String how = limit + " silent streams on one connection (edge sessions then: " + edgeSessionsAtStart
            + "); stream " + (limit + 1) + " was " + (served ? "held by the client (HTTP/2 MAX_CONCURRENT_STREAMS "
            + limit + ") and opened after " + waited + " ms" : "not opened within " + waited + " ms")
            + ", once " + cut + " silent streams had been ended (first " + first + ")";
        return new Answer(served && cut > 0 ? "bounded" : "**NOT bounded**", how);
      }
    } finally {
      silent.forEach(RawSession::close);
      one.shutdownNow();
    }
  }

  /** Sessions on each card of the node, as its slice table counts them. */
  private String perCard() {
    StringBuilder b = new StringBuilder();
    for (var g : node.gpus()) {
      b.append(b.length() == 0 ? "" : ", ").append("gpu ").append(g.index()).append(": ")
          .append(node.slices().sessions(g));
    }
    return b.toString();
  }

  // ---- tenants and samples

  /** The well-behaved tenants: one MLP session each, inferring in a loop, each result checked. */
  private static final class Tenants {
    record Counts(long inferences, long wrong, long failed, String firstError) {}

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Thread> threads = new ArrayList<>();
    /** When each tenant's inference in flight began (System.nanoTime), or 0: one stuck counts too. */
    private final java.util.concurrent.atomic.AtomicLongArray inflight = new java.util.concurrent.atomic.AtomicLongArray(TENANTS);
    private final Object lock = new Object();
    private Histogram histogram = Figures.histogram();
    private long inferences;
    private long wrong;
    private long failed;
    private String firstError;

    void start(String address) {
      for (int t = 0; t < TENANTS; t++) {
        int tenant = t;
        Thread th = new Thread(() -> loop(address, tenant), "tenant-" + t);
        th.setDaemon(true);
        threads.add(th);
        th.start();
      }
    }

    private void loop(String address, int tenant) {
      MlpModel model = MlpModel.random(2026 + tenant, 64, 128, 10);
      float[][] inputs = new float[4][];
      float[][] expected = new float[4][];
      for (int i = 0; i < inputs.length; i++) {
        inputs[i] = model.randomInput(100L * tenant + i, BATCH);
        expected[i] = model.forwardCpu(inputs[i], BATCH);
      }
      while (running.get()) {
        try (SpillwayClient client = SpillwayClient.connect(address);
            GpuSession gpu = client.open(SliceRequest.builder().tenant("tenant-" + tenant).memoryBytes(64 * MIB)
                .computePercent(20).build())) {
          MlpService service = new MlpService(gpu, model, BATCH);
          for (int i = 0; running.get(); i = (i + 1) % inputs.length) {
            long t0 = System.nanoTime();
            inflight.set(tenant, t0);
            float[] got = service.infer(inputs[i], BATCH);
            long took = System.nanoTime() - t0;
            inflight.set(tenant, 0);
            boolean ok = MlpModel.maxAbsDiff(got, expected[i]) < 1e-5f;
            synchronized (lock) {
              histogram.recordValue(took);
              inferences++;
              if (!ok) {
                wrong++;
              }
            }
          }
        } catch (RuntimeException e) {
          inflight.set(tenant, 0);
          synchronized (lock) {
            failed++;
            if (firstError == null) {
              firstError = e.toString();
            }
          }
        }
      }
    }

    /** Waits until every tenant has inferred, then for {@code millis} more (JIT warm-up). */
    void settle(long millis) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (counts().inferences() < TENANTS * 4L && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      Thread.sleep(millis);
    }

    private long resetAt = System.nanoTime();

    void reset() {
      synchronized (lock) {
        resetAt = System.nanoTime();
        histogram = Figures.histogram();
        inferences = 0;
        wrong = 0;
        failed = 0;
        firstError = null;
      }
    }

    /**
     * The latencies since the last reset, an inference still in flight counted with the time it has taken
     * so far (a tenant stuck behind a hostile client would otherwise record nothing). Reset restarts
     * the clock of those in flight.
     */
    Histogram histogram() {
      long now = System.nanoTime();
      synchronized (lock) {
        Histogram h = histogram.copy();
        for (int t = 0; t < TENANTS; t++) {
          long since = inflight.get(t);
          if (since != 0) {
            // A tenant may have started after now was read.
            h.recordValue(Math.max(0, now - Math.max(since, resetAt)));
          }
        }
        return h;
      }
    }

    Counts counts() {
      synchronized (lock) {
        return new Counts(inferences, wrong, failed, firstError);
      }
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(5_000);
      }
    }
  }

  /** Peaks sampled every 20 ms: heap used, the edge's journal bytes, the node's card memory reserved. */
  private final class Peaks {
    final AtomicLong heap = new AtomicLong();
    /** Heap in use after the last collection (live data, about), summed over the heap pools. */
    final AtomicLong live = new AtomicLong();
    final AtomicLong journal = new AtomicLong();
    final AtomicLong card = new AtomicLong();
    private final List<MemoryPoolMXBean> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
        .filter(p -> p.getType() == MemoryType.HEAP).toList();

    void reset() {
      heap.set(0);
      live.set(0);
      journal.set(0);
      card.set(0);
    }

    void sample() {
      while (true) {
        long used = 0;
        for (MemoryPoolMXBean p : heapPools) {
          used += p.getUsage().getUsed();
        }
        heap.accumulateAndGet(used, Math::max);
        long afterGc = 0;
        for (MemoryPoolMXBean p : heapPools) {
          java.lang.management.MemoryUsage u = p.getCollectionUsage();
          afterGc += u == null ? 0 : u.getUsed();
        }
        live.accumulateAndGet(afterGc, Math::max);
        journal.accumulateAndGet(edge.journalBytes(), Math::max);
        card.accumulateAndGet(node.gpus().stream().mapToLong(g -> node.slices().allocatedBytes(g)).sum(),
            Math::max);
        try {
          Thread.sleep(20);
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  // ---- report

  private void print(List<Result> results, long heapMax, long cardBytes) {
    System.out.println();
    System.out.println("## Abuse run: " + TENANTS + " MLP tenants through an edge while hostile clients try");
    System.out.println();
    System.out.println("| hostile client | verdict | how it was answered | tenant p99 before | during"
        + " | ratio | tenant results | heap peak (after GC) / max | edge journal peak / bound | node cards reserved /"
        + " memory |");
    System.out.println("| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    for (Result r : results) {
      String tenantsSaw = r.inferences() + " inferences, " + r.wrong() + " wrong, " + r.failed() + " failed"
          + (r.tenantError() == null ? "" : " (" + shorten(r.tenantError(), 120) + ")");
      System.out.println("| " + r.name() + " | " + r.answer().verdict() + " | "
          + shorten(r.answer().how(), 400).replace("|", "/") + " | " + Figures.micros(r.p99Before()) + " | "
          + Figures.micros(r.p99During()) + " | " + String.format(Locale.ROOT, "%.2f", r.p99During()
          / Math.max(1, r.p99Before())) + " | " + tenantsSaw + " | " + mib(r.heapPeak()) + " (" + mib(r.livePeak()) + ") / " + mib(heapMax)
          + " | " + mib(r.journalPeak()) + " / " + mib(edge.failoverConfig().maxGatewayBytes()) + " | "
          + mib(r.cardPeak()) + " / " + mib(cardBytes) + " |");
    }
    System.out.flush();
  }

  private static String shorten(String s, int max) {
    String one = s.replace('\n', ' ');
    return one.length() <= max ? one : one.substring(0, max) + "...";
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) MIB);
  }
}
