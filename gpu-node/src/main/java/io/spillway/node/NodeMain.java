package io.spillway.node;

import io.spillway.node.driver.GpuDriver;
import io.spillway.node.driver.GpuDrivers;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.node.driver.GpuDevice;
import io.spillway.security.tls.TlsContexts;
import io.spillway.security.tls.TlsFiles;
import java.util.ArrayList;
import java.util.Optional;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code spillway node}: serves this machine's GPUs (or emulated ones) over the session protocol. */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Serves this machine's GPUs to Spillway sessions over gRPC.")
public final class NodeMain implements Callable<Integer> {
  private static final Logger LOG = Logger.getLogger(NodeMain.class.getName());

  // Each description is the option's row in docs/configuration.md (ConfigurationPage generates it): the
  // paramLabel is its type, a closing "(default: ...)" its default.

  @Option(names = "--host", paramLabel = "<address>", defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", paramLabel = "<port>", defaultValue = "7070",
      description = "gRPC port of the session service; 0 picks a free one, printed as `READY host:port` "
          + "(default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--node-id", paramLabel = "<name>", defaultValue = "node-1",
      description = "The node's name in its pool; unique per pool (default: ${DEFAULT-VALUE}).")
  String nodeId;

  @Option(names = "--pool", paramLabel = "<name>", defaultValue = "local",
      description = "The pool it serves, reported to clients in `DeviceInfo.pool`, for example `edge/east` or "
          + "`center` (default: ${DEFAULT-VALUE}).")
  String pool;

  @Option(names = "--driver", paramLabel = "auto|jcuda|host", defaultValue = "auto",
      description = "`auto` uses JCuda when a CUDA driver answers and the host driver otherwise, and logs which "
          + "and why; `jcuda` fails if no CUDA driver is present (default: ${DEFAULT-VALUE}).")
  String driver;

  @Option(names = "--host-cards", paramLabel = "<count>", defaultValue = "1",
      description = "Host driver: number of emulated cards (default: ${DEFAULT-VALUE}).")
  int hostCards;

  @Option(names = "--host-model", paramLabel = "<label>", defaultValue = "V100",
      description = "Host driver: model label of the emulated cards, used by placement (default: ${DEFAULT-VALUE}).")
  String hostModel;

  @Option(names = "--host-memory", paramLabel = "<size>", defaultValue = "32GiB",
      description = "Host driver: memory of each emulated card (bytes, or a number with KiB, MiB, GiB, TiB). "
          + "Memory is taken only as sessions allocate it (default: ${DEFAULT-VALUE}).")
  String hostMemory;

  @Option(names = "--reserve", paramLabel = "<size>", defaultValue = "0",
      description = "Memory kept free on every card, never given to slices (default: ${DEFAULT-VALUE}).")
  String reserve;

  @Option(names = "--host-card-group", paramLabel = "COUNTxMODEL:MEMORY",
      description = "Host driver: a group of emulated cards, e.g. `4xV100:32GiB`; several make a mixed server; "
          + "replaces `--host-cards`, `--host-model` and `--host-memory`.")
  List<String> hostCardGroups = new ArrayList<>();

  @Option(names = "--gateway", paramLabel = "<host:port>",
      description = "A gateway to register with (repeat for gateway replicas); without it the node serves "
          + "clients directly.")
  List<String> gateways = new ArrayList<>();

  @Option(names = "--advertise", paramLabel = "<host:port>",
      description = "Where the gateway dials this node (default: `--host` and the bound port).")
  String advertise;

  @Option(names = "--heartbeat-interval", paramLabel = "<milliseconds>", defaultValue = "1000",
      description = "Time between heartbeats until the gateway asks for another interval "
          + "(default: ${DEFAULT-VALUE}).")
  long heartbeatIntervalMillis;

  @Option(names = "--tls-cert", paramLabel = "<path>",
      description = "PEM certificate chain of this node, naming it in a URI SAN "
          + "`spillway://node/<node-id>?pool=<pool>` (docs/security.md); with `--tls-key` and `--tls-ca`, "
          + "the session service takes only its pool's gateways (mutual TLS) and registration uses TLS. "
          + "Read again when it changes.")
  String tlsCert;

  @Option(names = "--tls-key", paramLabel = "<path>",
      description = "PEM private key of `--tls-cert` (PKCS#8, EC or RSA).")
  String tlsKey;

  @Option(names = "--tls-ca", paramLabel = "<path>",
      description = "PEM certificates of the CA trusted for the gateways' certificates.")
  String tlsCa;

  // Limits (NodeLimits): each is refused with a status naming the option and its value, and refusing it
  // loses nothing of any other session.

  @Option(names = "--max-frame-bytes", paramLabel = "<size>", defaultValue = "64MiB",
      description = "The largest client frame; a bigger one ends its stream with `RESOURCE_EXHAUSTED` (advised "
          + "to clients in `Opened.max_frame_bytes`) (default: ${DEFAULT-VALUE}).")
  String maxFrameBytes;

  @Option(names = "--max-frame-ops", paramLabel = "<count>", defaultValue = "" + NodeLimits.DEFAULT_MAX_FRAME_OPS,
      description = "Ops one client frame may hold, counted by a scan of its tags before it is parsed; a frame "
          + "with more is refused whole with `RESOURCE_EXHAUSTED` (an error reply with seq 0, op `frame`), none "
          + "of its ops run, and the session goes on (default: ${DEFAULT-VALUE}).")
  int maxFrameOps;

  @Option(names = "--reply-frame-bytes", paramLabel = "<size>", defaultValue = "1MiB",
      description = "Replies are sent as soon as they add up to this size, so the answers of a long frame are "
          + "never held whole (default: ${DEFAULT-VALUE}).")
  String replyFrameBytes;

  @Option(names = "--max-handles", paramLabel = "<count>", defaultValue = "" + NodeLimits.DEFAULT_MAX_HANDLES,
      description = "Buffers and module variables one session may hold at once; one more is refused with "
          + "`RESOURCE_EXHAUSTED` (default: ${DEFAULT-VALUE}).")
  int maxHandles;

  @Option(names = "--max-modules", paramLabel = "<count>", defaultValue = "" + NodeLimits.DEFAULT_MAX_MODULES,
      description = "Modules one session may hold at once; one more is refused with `RESOURCE_EXHAUSTED` "
          + "(default: ${DEFAULT-VALUE}).")
  int maxModules;

  @Option(names = "--max-module-bytes", paramLabel = "<size>", defaultValue = "32MiB",
      description = "The largest module image; a bigger one is refused with `RESOURCE_EXHAUSTED` "
          + "(default: ${DEFAULT-VALUE}).")
  String maxModuleBytes;

  @Option(names = "--max-sessions-per-card", paramLabel = "<count>",
      defaultValue = "" + NodeLimits.DEFAULT_MAX_SESSIONS_PER_CARD,
      description = "Sessions one card may hold, however small their slices (each takes a context and a "
          + "scheduler share); an open past it is refused with `RESOURCE_EXHAUSTED` (default: ${DEFAULT-VALUE}).")
  int maxSessionsPerCard;

  @Option(names = "--first-frame-timeout", paramLabel = "<duration>", defaultValue = "10s",
      description = "How long a new stream may take to send its open; past it the stream ends with "
          + "`DEADLINE_EXCEEDED` (default: ${DEFAULT-VALUE}).")
  String firstFrameTimeout;

  @Option(names = "--idle-timeout", paramLabel = "<duration>", defaultValue = "30m",
      description = "How long an open session may send no frame (bytes of one still arriving count), get no "
          + "reply and run nothing before it ends with `FAILED_PRECONDITION` and its slice is freed; `0`: never "
          + "(default: ${DEFAULT-VALUE}).")
  String idleTimeout;

  @Option(names = "--max-streams-per-connection", paramLabel = "<count>",
      defaultValue = "" + NodeLimits.DEFAULT_MAX_STREAMS_PER_CONNECTION,
      description = "Concurrent session streams on one HTTP/2 connection (its `MAX_CONCURRENT_STREAMS`); a "
          + "gateway puts its sessions on a node over one connection, so keep it above the sessions a node can "
          + "hold (default: ${DEFAULT-VALUE}).")
  int maxStreamsPerConnection;

  @Option(names = "--keepalive-time", paramLabel = "<duration>", defaultValue = "30s",
      description = "How often the node pings a connection that has been quiet; `0`: never. Gateways may ping "
          + "the node every second, with or without calls (default: ${DEFAULT-VALUE}).")
  String keepAliveTime;

  @Option(names = "--keepalive-timeout", paramLabel = "<duration>", defaultValue = "10s",
      description = "How long such a ping may go unanswered before the connection and its sessions are "
          + "dropped. Durations are `0` or a number with `ms`, `s`, `m` or `h` (default: ${DEFAULT-VALUE}).")
  String keepAliveTimeout;

  @Option(names = "--launch-deadline", paramLabel = "<duration>", defaultValue = "5m",
      description = "How long one kernel may run, or a synchronize or read wait for one, before the watchdog "
          + "aborts its session's context (JCuda destroys it) and the session ends with `FAILED_PRECONDITION`; "
          + "`0`: no deadline (default: ${DEFAULT-VALUE}).")
  String launchDeadline;

  @Option(names = "--reply-stall-timeout", paramLabel = "<duration>", defaultValue = "30s",
      description = "How long replies may wait on a stream that is not ready (a client that does not read them) "
          + "before the session ends with `RESOURCE_EXHAUSTED` and its slice is freed (default: ${DEFAULT-VALUE}).")
  String replyStallTimeout;

  /** The limits the options give; a bad value names its option. */
  NodeLimits limits() {
    try {
      return new NodeLimits(maxFrameOps, Math.toIntExact(parseBytes("--reply-frame-bytes", replyFrameBytes)),
          maxHandles, maxModules, Math.toIntExact(parseBytes("--max-module-bytes", maxModuleBytes)),
          maxSessionsPerCard, parseDuration("--first-frame-timeout", firstFrameTimeout),
          parseDuration("--idle-timeout", idleTimeout), maxStreamsPerConnection,
          parseDuration("--keepalive-time", keepAliveTime), parseDuration("--keepalive-timeout", keepAliveTimeout),
          parseDuration("--launch-deadline", launchDeadline),
          parseDuration("--reply-stall-timeout", replyStallTimeout));
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--" + e.getMessage());
    }
  }

  NodeOptions options() {
    long frame = parseBytes("--max-frame-bytes", maxFrameBytes);
    if (frame < 8192 || frame > Integer.MAX_VALUE - 1024) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--max-frame-bytes: " + maxFrameBytes
          + " must be from 8KiB to under 2GiB");
    }
    try {
      return new NodeOptions(nodeId, pool, parseBytes("--reserve", reserve),
          (int) Math.min(NodeOptions.DEFAULT_CHUNK_BYTES, frame / 2), (int) frame, 60_000, limits());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
    }
  }

  @Override
  public Integer call() throws Exception {
    TlsContexts tls;
    try {
      tls = TlsFiles.fromKeys("--tls-", Optional.ofNullable(tlsCert), Optional.ofNullable(tlsKey),
          Optional.ofNullable(tlsCa)).map(TlsContexts::of).orElse(null);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(new CommandLine(this), e.getMessage());
    }
    GpuDriver gpuDriver = GpuDrivers.select(driver, this::hostDriver);
    NodeOptions options = options();
    GpuNodeServer server = new GpuNodeServer(new GpuNode(options, gpuDriver), host, port, tls).start();
    LOG.info(() -> String.format(Locale.ROOT, "node %s (%s driver, %d GPUs) listening on %s:%d %s",
        nodeId, gpuDriver.name(), gpuDriver.devices().size(), host, server.port(),
        tls == null ? "in plaintext" : "with mutual TLS as " + tls.certificate().getSubjectX500Principal()));
    List<GatewayRegistrar> registrars = new ArrayList<>();
    String self = advertise != null ? advertise : host + ":" + server.port();
    for (String gateway : gateways) {
      registrars.add(new GatewayRegistrar(server.node(), gateway, self, heartbeatIntervalMillis, tls).start());
    }
    System.out.println("READY " + host + ":" + server.port());
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      registrars.forEach(GatewayRegistrar::close);
      server.close();
    }, "spillway-node-shutdown"));
    server.awaitTermination();
    return 0;
  }

  private HostGpuDriver hostDriver() {
    if (hostCardGroups.isEmpty()) {
      return HostGpuDriver.withCards(hostCards, hostModel, parseBytes("--host-memory", hostMemory));
    }
    List<GpuDevice> devices = new ArrayList<>();
    for (String group : hostCardGroups) {
      Matcher m = CARD_GROUP.matcher(group.trim());
      if (!m.matches()) {
        throw new CommandLine.ParameterException(new CommandLine(this), "--host-card-group: '" + group
            + "' is not COUNTxMODEL:MEMORY, for example 4xV100:32GiB");
      }
      int count = Integer.parseInt(m.group(1));
      long memory = parseBytes("--host-card-group", m.group(3));
      for (int i = 0; i < count; i++) {
        devices.add(new GpuDevice(devices.size(), "HOST-" + UUID.randomUUID(), m.group(2), memory, "host"));
      }
    }
    return new HostGpuDriver(devices);
  }

  private static final Pattern CARD_GROUP = Pattern.compile("(\\d+)x([A-Za-z0-9]+):(.+)");

  /** Parses {@code 1024}, {@code 512MiB}, {@code 32GiB} (binary units) into bytes. */
  public static long parseBytes(String option, String text) {
    String t = text.trim().toUpperCase(Locale.ROOT).replace(" ", "");
    long unit = 1;
    for (String[] u : new String[][] {{"TIB", "1099511627776"}, {"GIB", "1073741824"},
        {"MIB", "1048576"}, {"KIB", "1024"}, {"B", "1"}}) {
      if (t.endsWith(u[0])) {
        unit = Long.parseLong(u[1]);
        t = t.substring(0, t.length() - u[0].length());
        break;
      }
    }
    try {
      long v = Long.parseLong(t);
      if (v < 0) {
        throw new NumberFormatException();
      }
      return Math.multiplyExact(v, unit);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new CommandLine.ParameterException(new CommandLine(new NodeMain()),
          option + ": '" + text + "' is not a size; use bytes or a number with KiB, MiB, GiB or TiB");
    }
  }

  /** Parses {@code 0}, {@code 250ms}, {@code 10s}, {@code 30m}, {@code 2h} into a duration. */
  public static java.time.Duration parseDuration(String option, String text) {
    Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new CommandLine.ParameterException(new CommandLine(new NodeMain()),
          option + ": '" + text + "' is not a duration; use 0 or a number with ms, s, m or h (e.g. 10s)");
    }
    long v = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "" : m.group(2);
    if (v != 0 && unit.isEmpty()) {
      throw new CommandLine.ParameterException(new CommandLine(new NodeMain()),
          option + ": '" + text + "' has no unit; use ms, s, m or h (e.g. 10s)");
    }
    return switch (unit) {
      case "ms" -> java.time.Duration.ofMillis(v);
      case "s" -> java.time.Duration.ofSeconds(v);
      case "m" -> java.time.Duration.ofMinutes(v);
      case "h" -> java.time.Duration.ofHours(v);
      default -> java.time.Duration.ZERO;
    };
  }

  private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)?");

  public static void main(String[] args) {
    System.exit(new CommandLine(new NodeMain()).execute(args));
  }
}
