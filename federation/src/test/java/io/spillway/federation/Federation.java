package io.spillway.federation;

import io.spillway.kafka.EmbeddedKafka;
import io.spillway.lease.LeaseAcls;
import io.spillway.lease.LeaseClient;
import io.spillway.lease.LeaseConfig;
import io.spillway.lease.LeaseSigning;
import io.spillway.lease.LeaseTopics;
import io.spillway.node.GpuNode;
import io.spillway.node.NodeOptions;
import io.spillway.node.driver.HostGpuDriver;
import io.spillway.node.registration.GatewayRegistrar;
import io.spillway.node.server.GpuNodeServer;
import io.spillway.pool.config.FailoverConfig;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.gateway.GatewayCore;
import io.spillway.pool.session.GatewayListener;
import io.spillway.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The center federation the tests run against, on this machine and on loopback ports the system
 * chooses: a real Kafka broker with the lease topics, a {@link CenterGateway} leading the leases, center
 * GPU nodes (host driver) registered with it over gRPC, and, on demand, edge gateways that spill to it
 * under leases and GPU nodes for them. Everything it starts it stops, in reverse order, on
 * {@link #close}. Published in the federation module's test-jar, so every module's tests build the federation
 * the same way.
 */
public final class Federation implements AutoCloseable {

  public static final long GIB = 1L << 30;

  /** Short leases and group timeouts, so that expiry and failover tests take seconds. */
  public static final LeaseConfig FAST_LEASES = LeaseConfig.defaults().withLeaseDuration(Duration.ofSeconds(6))
      .withSkewMargin(Duration.ofSeconds(1)).withDrainDuration(Duration.ofSeconds(1))
      .withSessionTimeout(Duration.ofSeconds(2)).withMaxPollInterval(Duration.ofSeconds(3));

  /** The Kafka broker under the federation: started first, closed last. */
  private record Broker(AutoCloseable broker, Supplier<String> start) {}

  /** A GPU node serving on loopback and registered with one gateway. */
  public record Node(String id, GpuNodeServer server, GatewayRegistrar registrar) implements AutoCloseable {
    /** Stops the node without a word to its gateway, as a dead server would. */
    @Override
    public void close() {
      registrar.close();
      server.close();
    }
  }

  /** An edge gateway that spills to the center under leases of its own {@link LeaseClient}. */
  public record Edge(GatewayCore core, LeaseClient leases, LeaseSpill spill) {
    public String address() {
      return core.address();
    }
  }

  private final List<AutoCloseable> started = new ArrayList<>();
  private final Map<String, Node> nodes = new LinkedHashMap<>();
  private LeaseConfig leases;
  private EmbeddedKafka secured;
  private byte[] secret;
  private Map<String, String> passwords;
  private String bootstrap;
  private CenterGateway center;
  private ScheduledExecutorService timer;

  private Federation(LeaseConfig leases) {
    this.leases = leases;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** How the federation is made; {@link #start} starts it and waits until the center leads. */
  public static final class Builder {
    private LeaseConfig leases = FAST_LEASES;
    private Broker broker;
    private final List<Object[]> centerNodes = new ArrayList<>();
    private String leaderId = "center-1";
    private CenterSecurity centerSecurity = CenterSecurity.none();
    private boolean secureKafka;

    private Builder() {}

    /**
     * Runs on an embedded broker that authenticates (SCRAM) and authorizes ({@link LeaseAcls}): the center
     * is Kafka user {@code center}, each edge of {@link #edge} or {@link #leaseClient} the user of its name,
     * and lease records are signed and checked under a secret of this federation ({@link LeaseSigning}).
     * Replaces {@link #broker}.
     */
    public Builder secureKafka() {
      this.secureKafka = true;
      return this;
    }

    /** Who may call the center; by default plaintext with no identity required. */
    public Builder centerSecurity(CenterSecurity security) {
      this.centerSecurity = security;
      return this;
    }

    public Builder leases(LeaseConfig leases) {
      this.leases = leases;
      return this;
    }

    /**
     * The broker to run on, and how to start it (it returns the bootstrap servers); by default the
     * embedded KRaft broker.
     */
    public <B extends AutoCloseable> Builder broker(B broker, Function<B, String> start) {
      this.broker = new Broker(broker, () -> start.apply(broker));
      return this;
    }

    /** A center GPU node of {@code cards} V100s of {@code memoryBytes}; by default one of 1 x 32 GiB. */
    public Builder centerNode(String id, int cards, long memoryBytes) {
      centerNodes.add(new Object[] {id, cards, memoryBytes});
      return this;
    }

    /** The lease manager's member id. */
    public Builder leaderId(String leaderId) {
      this.leaderId = leaderId;
      return this;
    }

    public Federation start() throws Exception {
      Federation f = new Federation(leases);
      if (secureKafka) {
        f.secret = LeaseSigning.newSecret();
        f.passwords = new java.util.concurrent.ConcurrentHashMap<>();
        EmbeddedKafka kafka = new EmbeddedKafka().secured("broker", password());
        f.secured = kafka;
        broker = new Broker(kafka, kafka::start);
        centerSecurity = centerSecurity.withLeaseSecret(f.secret);
      }
      try {
        f.start(broker != null ? broker : embedded(), centerNodes.isEmpty()
            ? List.<Object[]>of(new Object[] {"center-node", 1, 32 * GIB}) : centerNodes, leaderId,
            centerSecurity);
        return f;
      } catch (Exception | Error e) {
        f.close();
        throw e;
      }
    }
  }

  private static Broker embedded() {
    EmbeddedKafka kafka = new EmbeddedKafka();
    return new Broker(kafka, kafka::start);
  }

  private void start(Broker broker, List<Object[]> centerNodes, String leaderId, CenterSecurity security)
      throws Exception {
    started.add(broker.broker());
    bootstrap = broker.start().get();
    if (secured != null) {
      leases = leases.withKafkaProperties(kafkaUser("center", LeaseAcls.center("User:center")));
    }
    LeaseTopics.ensure(bootstrap, (short) 1, leases.kafkaProperties());
    center = new CenterGateway(GatewayConfig.local("center", "center"), bootstrap, leases, Clock.systemUTC(),
        GatewayListener.NONE, Duration.ofSeconds(5), security).start();
    started.add(center);
    for (Object[] n : centerNodes) {
      node(center.core(), (String) n[0], "center", (Integer) n[1], (Long) n[2]);
    }
    center.startLeasing(leaderId);
    Await.until("the center's lease manager leads", () -> center.manager().isLeader());
  }

  public String bootstrap() {
    return bootstrap;
  }

  public CenterGateway center() {
    return center;
  }

  /** The center gateway's gRPC address, where edges open spilled sessions. */
  public String centerAddress() {
    return center.core().address();
  }

  public LeaseConfig leases() {
    return leases;
  }

  /** A node started by {@link #node}, by id. */
  public Node node(String id) {
    Node n = nodes.get(id);
    if (n == null) {
      throw new IllegalArgumentException("no node " + id + " in this federation; it has " + nodes.keySet());
    }
    return n;
  }

  /**
   * Starts a GPU node of {@code cards} emulated V100s of {@code memoryBytes} each in {@code pool}, and
   * waits until {@code gateway} lists it up. The federation stops it on {@link #close}.
   */
  public Node node(GatewayCore gateway, String id, String pool, int cards, long memoryBytes) throws Exception {
    Node n = startNode(gateway, id, pool, cards, memoryBytes);
    started.add(n);
    nodes.put(id, n);
    return n;
  }

  /** As {@link #node}, for a gateway outside any federation: the caller closes the node. */
  public static Node startNode(GatewayCore gateway, String id, String pool, int cards, long memoryBytes)
      throws Exception {
    GpuNode node = new GpuNode(new NodeOptions(id, pool, 0, NodeOptions.DEFAULT_CHUNK_BYTES,
        NodeOptions.DEFAULT_MAX_FRAME_BYTES, 60_000), HostGpuDriver.withCards(cards, "V100", memoryBytes));
    GpuNodeServer server = new GpuNodeServer(node, "127.0.0.1", 0).start();
    GatewayRegistrar registrar;
    try {
      registrar = new GatewayRegistrar(node, gateway.address(), "127.0.0.1:" + server.port(), 200).start();
    } catch (Exception | Error e) {
      server.close();
      throw e;
    }
    Node n = new Node(id, server, registrar);
    try {
      Await.until(id + " registered with " + gateway.config().name(),
          () -> gateway.registry().node(id).map(r -> r.isUp()).orElse(false));
    } catch (Error e) {
      n.close();
      throw e;
    }
    return n;
  }

  private static String password() {
    return java.util.UUID.randomUUID().toString().replace("-", "");
  }

  /**
   * On a {@link Builder#secureKafka} federation: creates Kafka user {@code user} (once) with these ACLs, and
   * returns the client settings that authenticate as it.
   */
  public Map<String, String> kafkaUser(String user, List<org.apache.kafka.common.acl.AclBinding> acls) {
    if (secured == null) {
      throw new IllegalStateException("this federation's broker does not authenticate");
    }
    String pw = passwords.computeIfAbsent(user, u -> {
      String p = password();
      secured.upsertUser(u, p);
      return p;
    });
    if (!acls.isEmpty()) {
      LeaseAcls.create(bootstrap, secured.superUserProperties(), acls);
    }
    return EmbeddedKafka.clientProperties(user, pw);
  }

  /** On a {@link Builder#secureKafka} federation: the key edge {@code edge} signs its lease records with. */
  public byte[] edgeKey(String edge) {
    return LeaseSigning.edgeKey(secret, edge);
  }

  /**
   * A lease client of edge {@code edgeName}, started (caught up with the lease log); on a
   * {@link Builder#secureKafka} federation, authenticated as Kafka user {@code edgeName} and signing with
   * its key.
   */
  public LeaseClient leaseClient(String edgeName) throws Exception {
    LeaseClient client;
    if (secured != null) {
      client = new LeaseClient(bootstrap, edgeName,
          leases.withKafkaProperties(kafkaUser(edgeName, LeaseAcls.edge("User:" + edgeName))), Clock.systemUTC())
          .signWith(edgeKey(edgeName));
    } else {
      client = new LeaseClient(bootstrap, edgeName, leases, Clock.systemUTC());
    }
    started.add(client);
    client.start(Duration.ofSeconds(30));
    return client;
  }

  /**
   * An edge gateway of site {@code site} (pool {@code edge/<site>}) that spills to this center when its
   * own nodes are full, started; give it nodes with {@link #node}.
   */
  public Edge edge(String site, FailoverConfig failover) throws Exception {
    String name = "edge-" + site;
    GatewayCore core = new GatewayCore(GatewayConfig.local(name, "edge/" + site), Clock.systemUTC(),
        GatewayListener.NONE).failover(failover);
    LeaseClient client = leaseClient(name);
    LeaseSpill spill = new LeaseSpill(client, centerAddress(), LeaseSpill.Mode.WHEN_FULL, 90,
        leases.leaseDuration(), Duration.ofSeconds(10), timer());
    core.spillTo(spill).start();
    started.add(core);
    return new Edge(core, client, spill);
  }

  private synchronized ScheduledExecutorService timer() {
    if (timer == null) {
      timer = Executors.newSingleThreadScheduledExecutor();
      started.add(timer::shutdownNow);
    }
    return timer;
  }

  /** Stops everything started, newest first: edges and nodes, then the center, then the broker. */
  @Override
  public void close() {
    RuntimeException failure = null;
    for (int i = started.size() - 1; i >= 0; i--) {
      try {
        started.get(i).close();
      } catch (Exception e) {
        if (failure == null) {
          failure = new IllegalStateException("closing the federation", e);
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    started.clear();
    nodes.clear();
    if (failure != null) {
      throw failure;
    }
  }
}
