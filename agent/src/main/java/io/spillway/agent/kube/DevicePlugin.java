package io.spillway.agent.kube;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.StatusRuntimeException;
import io.spillway.agent.kube.deviceplugin.v1beta1.RegisterRequest;
import io.spillway.agent.kube.deviceplugin.v1beta1.RegistrationGrpc;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * The device plugin's life: serve {@code v1beta1.DevicePlugin} on our socket in the kubelet's folder,
 * register with the kubelet, and start over whenever the kubelet restarts (it deletes every plugin socket and
 * recreates {@code kubelet.sock}; we watch the folder for either).
 *
 * <p>Threading: one thread ({@code spillway-device-plugin}) owns the state: serving, registering, polling
 * capacity and reaping. The folder watcher and the timer only enqueue onto it.
 */
public final class DevicePlugin implements AutoCloseable {

  /** Where the plugin stands with the kubelet. */
  public enum State {
    /** Serving, but the kubelet has not accepted our registration (absent, or refused): retried on its socket's creation and on each poll. */
    UNREGISTERED,
    /** The kubelet accepted the registration for the server now running. */
    REGISTERED,
    CLOSED
  }

  private static final Logger LOG = Logger.getLogger(DevicePlugin.class.getName());
  public static final String API_VERSION = "v1beta1";

  private final DevicePluginConfig config;
  private final MemoryUnits units;
  private final PoolCapacity capacity;
  private final Allocator allocator;
  private final DevicePluginService service;
  private final UnixGrpc grpc = new UnixGrpc();
  private final ScheduledExecutorService loop;
  private final WatchService watch;
  private final Thread watcher;
  private final AtomicInteger registrations = new AtomicInteger();
  /** Deletions of our socket that we made ourselves, so the watcher does not take them for the kubelet's. */
  private final AtomicInteger ownDeletes = new AtomicInteger();
  private volatile State state = State.UNREGISTERED;
  private Server server;

  private DevicePlugin(DevicePluginConfig config, MemoryUnits units, PoolCapacity capacity, Allocator allocator)
      throws IOException {
    this.config = config;
    this.units = units;
    this.capacity = capacity;
    this.allocator = allocator;
    this.service = new DevicePluginService(units, allocator);
    Files.createDirectories(config.kubeletDir());
    this.watch = FileSystems.getDefault().newWatchService();
    config.kubeletDir().register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE);
    this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-device-plugin");
      t.setDaemon(true);
      return t;
    });
    this.watcher = new Thread(this::watchLoop, "spillway-device-plugin-watch");
    this.watcher.setDaemon(true);
  }

  /**
   * Starts the plugin. With {@code config.units() == 0} the device count is the pool's usable memory now, so
   * the edge must answer; otherwise health starts all healthy and follows the first poll.
   */
  public static DevicePlugin start(DevicePluginConfig config, PoolCapacity capacity, Allocator allocator)
      throws IOException {
    OptionalLong usable = capacity.usableBytes();
    int count = config.units();
    if (count == 0) {
      if (usable.isEmpty()) {
        throw new IOException("the edge's pool cannot be read, so " + config.resourceName()
            + " cannot be sized: make the edge reachable or set --device-plugin-units");
      }
      count = (int) Math.min(config.maxUnits(), usable.getAsLong() / config.unitBytes());
      if (count < 1) {
        throw new IOException("the edge's pool has " + usable.getAsLong() + " usable bytes, less than one "
            + config.unitBytes() + "-byte unit of " + config.resourceName() + "; set --device-plugin-units");
      }
    }
    MemoryUnits units = new MemoryUnits(count, config.unitBytes());
    usable.ifPresent(units::capacity);
    DevicePlugin p = new DevicePlugin(config, units, capacity, allocator);
    try {
      p.loop.submit(p::restart).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting the device plugin", e);
    } catch (java.util.concurrent.ExecutionException e) {
      p.close();
      throw new IOException("starting the device plugin: " + e.getCause().getMessage(), e.getCause());
    }
    p.watcher.start();
    long every = config.poll().toMillis();
    p.loop.scheduleWithFixedDelay(p::tick, every, every, TimeUnit.MILLISECONDS);
    LOG.info("device plugin for " + count + " x " + config.unitBytes() + " bytes of " + config.resourceName()
        + " on " + config.pluginSocket() + ": " + p.state);
    return p;
  }

  public State state() {
    return state;
  }

  /** How many times the kubelet accepted a registration. */
  public int registrations() {
    return registrations.get();
  }

  public MemoryUnits units() {
    return units;
  }

  /** Reads capacity now (rather than at the next poll) and tells the watchers if health changed. */
  public void pollNow() {
    try {
      loop.submit(this::pollCapacity).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException e) {
      LOG.warning("polling capacity: " + e.getCause());
    }
  }

  private void tick() {
    try {
      pollCapacity();
      if (state == State.UNREGISTERED && Files.exists(config.kubeletSocket())) {
        register();
      }
      allocator.reap();
    } catch (RuntimeException e) {
      LOG.warning("device plugin poll: " + e);
    }
  }

  private void pollCapacity() {
    OptionalLong usable = capacity.usableBytes();
    if (usable.isPresent() && units.capacity(usable.getAsLong())) {
      LOG.info(config.resourceName() + ": " + units.healthy() + " of " + units.count() + " units healthy ("
          + usable.getAsLong() + " usable bytes in the pool)");
      service.healthChanged();
    }
  }

  /** Serves afresh on our socket and registers. Runs on the loop. */
  private void restart() {
    if (state == State.CLOSED) {
      return;
    }
    // Counted before the deletion, so the watcher never sees it first. Stopping the server unlinks the
    // socket (Netty does), and whatever is left is deleted here: one deletion either way.
    if (Files.exists(config.pluginSocket())) {
      ownDeletes.incrementAndGet();
    }
    stopServer();
    try {
      Files.deleteIfExists(config.pluginSocket());
      server = grpc.serve(config.pluginSocket(), service);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("serving on " + config.pluginSocket(), e);
    }
    state = State.UNREGISTERED;
    if (Files.exists(config.kubeletSocket())) {
      register();
    } else {
      LOG.info("no kubelet at " + config.kubeletSocket() + " yet; registering when it appears");
    }
  }

  private void register() {
    ManagedChannel ch = grpc.channel(config.kubeletSocket());
    try {
      RegistrationGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).register(RegisterRequest.newBuilder()
          .setVersion(API_VERSION)
          .setEndpoint(config.endpoint())
          .setResourceName(config.resourceName())
          .setOptions(DevicePluginService.options())
          .build());
      state = State.REGISTERED;
      registrations.incrementAndGet();
      LOG.info("registered " + config.resourceName() + " with the kubelet at " + config.kubeletSocket());
    } catch (StatusRuntimeException e) {
      state = State.UNREGISTERED;
      LOG.warning("the kubelet at " + config.kubeletSocket() + " refused or missed the registration of "
          + config.resourceName() + ": " + e.getStatus() + "; retrying at the next poll");
    } finally {
      ch.shutdownNow();
    }
  }

  private void watchLoop() {
    Path ours = Path.of(config.endpoint());
    Path kubelet = Path.of(DevicePluginConfig.KUBELET_SOCKET);
    while (true) {
      WatchKey key;
      try {
        key = watch.take();
      } catch (InterruptedException | ClosedWatchServiceException e) {
        return;
      }
      boolean again = false;
      for (WatchEvent<?> ev : key.pollEvents()) {
        Object name = ev.context();
        if (ev.kind() == StandardWatchEventKinds.ENTRY_CREATE && kubelet.equals(name)) {
          LOG.info("the kubelet's socket was (re)created: registering again");
          again = true;
        } else if (ev.kind() == StandardWatchEventKinds.ENTRY_DELETE && ours.equals(name)) {
          if (ownDeletes.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            continue;
          }
          LOG.info("our socket " + config.pluginSocket() + " was deleted (kubelet restart): serving again");
          again = true;
        } else if (ev.kind() == StandardWatchEventKinds.OVERFLOW) {
          again = true;
        }
      }
      if (again && state != State.CLOSED) {
        loop.execute(() -> {
          try {
            restart();
          } catch (RuntimeException e) {
            LOG.warning("restarting the device plugin: " + e);
          }
        });
      }
      if (!key.reset()) {
        LOG.warning(config.kubeletDir() + " is gone; the device plugin stops watching it");
        return;
      }
    }
  }

  private void stopServer() {
    if (server != null) {
      service.endStreams();
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server = null;
    }
  }

  @Override
  public void close() {
    state = State.CLOSED;
    try {
      watch.close();
    } catch (IOException e) {
      LOG.fine("closing the watch: " + e.getMessage());
    }
    try {
      loop.submit(this::stopServer).get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.fine("stopping the device plugin server: " + e);
    }
    loop.shutdownNow();
    try {
      Files.deleteIfExists(config.pluginSocket());
    } catch (IOException e) {
      LOG.fine("removing " + config.pluginSocket() + ": " + e.getMessage());
    }
    grpc.close();
  }
}
