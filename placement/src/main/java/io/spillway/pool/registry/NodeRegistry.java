package io.spillway.pool.registry;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The GPU servers in this gateway's pool and whether each is alive.
 *
 * <p>Lifecycle of a node: {@link #register} makes it UP; {@link #heartbeat} keeps it UP;
 * {@link #checkLiveness()} marks it DOWN once its last heartbeat is older than the timeout (and
 * {@link #markDown} does so at once, for a gateway that saw the node's connection break). A DOWN node
 * comes back only by registering again, and then starts empty: nothing placed on the earlier generation
 * carries over. A node that registers while UP with a different address, pool or GPU set replaces its
 * old registration (DOWN then UP, see {@link Registration.Outcome#REPLACED}).
 *
 * <p>Liveness is not timed here: the gateway calls {@link #checkLiveness()} periodically (a period
 * well under the timeout, for example a third of it), and tests call it after advancing a
 * {@link io.spillway.pool.time.ManualClock}. A node is down when {@code now - lastHeartbeat > timeout};
 * exactly at the timeout it is still up.
 *
 * <p>Threading: all methods are thread-safe. Every change happens under one lock, and listeners are
 * called under that same lock (see {@link NodeListener} for what that asks of them). Lock order: the
 * registry's lock is taken before any listener's own lock, never after, so a listener must not call the
 * registry while holding a lock that another thread may hold while calling the registry.
 */
public final class NodeRegistry {

  private static final System.Logger LOG = System.getLogger(NodeRegistry.class.getName());

  private final Duration heartbeatTimeout;
  private final InstantSource clock;
  private final Object lock = new Object();
  /** Guarded by {@link #lock}. Insertion order is kept only for stable iteration in {@link #nodes()}. */
  private final Map<String, Node> nodes = new LinkedHashMap<>();
  private final List<NodeListener> listeners = new CopyOnWriteArrayList<>();

  /**
   * @param heartbeatTimeout how long a node may stay silent before it is marked DOWN; must be positive
   * @param clock the time source for heartbeats and liveness
   */
  public NodeRegistry(Duration heartbeatTimeout, InstantSource clock) {
    Objects.requireNonNull(heartbeatTimeout, "heartbeatTimeout");
    if (heartbeatTimeout.isZero() || heartbeatTimeout.isNegative()) {
      throw new IllegalArgumentException("heartbeatTimeout must be positive, got " + heartbeatTimeout);
    }
    this.heartbeatTimeout = heartbeatTimeout;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  public Duration heartbeatTimeout() {
    return heartbeatTimeout;
  }

  /**
   * Adds a listener and, under the same lock, tells it {@link NodeListener#onNodeUp} for every node
   * that is UP now, so a listener added late still sees the whole pool and misses no event in between.
   */
  public void addListener(NodeListener listener) {
    Objects.requireNonNull(listener, "listener");
    synchronized (lock) {
      listeners.add(listener);
      for (Node node : nodes.values()) {
        if (node.isUp()) {
          notify(listener, l -> l.onNodeUp(node));
        }
      }
    }
  }

  public void removeListener(NodeListener listener) {
    listeners.remove(listener);
  }

  /** Registers a node, or registers it again; see {@link Registration.Outcome} for the four cases. */
  public Registration register(NodeRegistration registration) {
    Objects.requireNonNull(registration, "registration");
    synchronized (lock) {
      Instant now = clock.instant();
      Node old = nodes.get(registration.nodeId());
      if (old != null && old.isUp() && sameAs(old, registration)) {
        Node refreshed = withHeartbeat(old, now);
        nodes.put(old.id(), refreshed);
        return new Registration(refreshed, Registration.Outcome.REFRESHED);
      }
      Registration.Outcome outcome;
      if (old == null) {
        outcome = Registration.Outcome.JOINED;
      } else if (old.isUp()) {
        outcome = Registration.Outcome.REPLACED;
        takeDown(old, "node " + old.id() + " registered again with a different "
            + differences(old, registration) + "; its earlier registration is replaced");
      } else {
        outcome = Registration.Outcome.REJOINED;
      }
      long generation = old == null ? 1 : old.generation() + 1;
      Node up = new Node(registration.nodeId(), registration.address(), registration.pool(),
          registration.gpus(), NodeState.UP, generation, now, now);
      nodes.put(up.id(), up);
      for (NodeListener listener : listeners) {
        notify(listener, l -> l.onNodeUp(up));
      }
      return new Registration(up, outcome);
    }
  }

  /**
   * Records a heartbeat. A node that is unknown or DOWN gets {@link HeartbeatResult.RegisterFirst}: it
   * must register (again) before its heartbeats count, because a DOWN node's slices are already gone.
   */
  public HeartbeatResult heartbeat(String nodeId) {
    Objects.requireNonNull(nodeId, "nodeId");
    synchronized (lock) {
      Node node = nodes.get(nodeId);
      if (node == null) {
        return new HeartbeatResult.RegisterFirst(nodeId, "node " + nodeId
            + " is not registered with this gateway; send a registration before heartbeats");
      }
      if (!node.isUp()) {
        return new HeartbeatResult.RegisterFirst(nodeId, "node " + nodeId + " was marked down (last "
            + "heartbeat " + node.lastHeartbeat() + "); register again to rejoin, it will start empty");
      }
      Node beat = withHeartbeat(node, clock.instant());
      nodes.put(nodeId, beat);
      return new HeartbeatResult.Accepted(beat);
    }
  }

  /**
   * Marks DOWN every UP node whose last heartbeat is older than the timeout, notifying listeners.
   *
   * @return the nodes marked down by this call, in state DOWN; empty when all are alive
   */
  public List<Node> checkLiveness() {
    synchronized (lock) {
      Instant now = clock.instant();
      List<Node> down = new ArrayList<>();
      for (Node node : List.copyOf(nodes.values())) {
        if (!node.isUp()) {
          continue;
        }
        Duration silent = Duration.between(node.lastHeartbeat(), now);
        if (silent.compareTo(heartbeatTimeout) > 0) {
          down.add(takeDown(node, "node " + node.id() + " sent no heartbeat for " + human(silent)
              + " (timeout " + human(heartbeatTimeout) + ")"));
        }
      }
      return down;
    }
  }

  /**
   * Marks a node DOWN at once (for example when the gateway's connection to it broke).
   *
   * @return the node as marked down, or empty if it is unknown or already DOWN (then nothing happens)
   */
  public Optional<Node> markDown(String nodeId, String reason) {
    Objects.requireNonNull(reason, "reason");
    synchronized (lock) {
      Node node = nodes.get(nodeId);
      if (node == null || !node.isUp()) {
        return Optional.empty();
      }
      return Optional.of(takeDown(node, reason));
    }
  }

  public Optional<Node> node(String nodeId) {
    synchronized (lock) {
      return Optional.ofNullable(nodes.get(nodeId));
    }
  }

  /** All known nodes, UP and DOWN, sorted by id. */
  public List<Node> nodes() {
    synchronized (lock) {
      return nodes.values().stream().sorted(Comparator.comparing(Node::id)).toList();
    }
  }

  /** Caller holds {@link #lock}. */
  private Node takeDown(Node node, String reason) {
    Node down = new Node(node.id(), node.address(), node.pool(), node.gpus(), NodeState.DOWN,
        node.generation(), node.registeredAt(), node.lastHeartbeat());
    nodes.put(node.id(), down);
    LOG.log(Level.INFO, "node {0} down: {1}", node.id(), reason);
    for (NodeListener listener : listeners) {
      notify(listener, l -> l.onNodeDown(down, reason));
    }
    return down;
  }

  private static void notify(NodeListener listener, java.util.function.Consumer<NodeListener> event) {
    try {
      event.accept(listener);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "node listener " + listener + " failed", e);
    }
  }

  private static boolean sameAs(Node node, NodeRegistration registration) {
    return node.address().equals(registration.address())
        && node.pool().equals(registration.pool())
        && node.gpus().equals(registration.gpus());
  }

  private static String differences(Node node, NodeRegistration registration) {
    List<String> changed = new ArrayList<>();
    if (!node.address().equals(registration.address())) {
      changed.add("address (" + node.address() + " -> " + registration.address() + ")");
    }
    if (!node.pool().equals(registration.pool())) {
      changed.add("pool (" + node.pool() + " -> " + registration.pool() + ")");
    }
    if (!node.gpus().equals(registration.gpus())) {
      changed.add("GPU set (" + node.gpus().size() + " -> " + registration.gpus().size() + " GPUs)");
    }
    return String.join(", ", changed);
  }

  private static Node withHeartbeat(Node node, Instant now) {
    return new Node(node.id(), node.address(), node.pool(), node.gpus(), node.state(),
        node.generation(), node.registeredAt(), now);
  }

  private static String human(Duration d) {
    long millis = d.toMillis();
    return millis % 1000 == 0 ? (millis / 1000) + "s" : String.format(java.util.Locale.ROOT, "%.1fs", millis / 1000.0);
  }
}
