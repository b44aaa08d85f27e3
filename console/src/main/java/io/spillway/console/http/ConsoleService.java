package io.spillway.console.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.spillway.console.ConsoleAccess;
import io.spillway.console.FederationReader;
import io.spillway.console.PoolSampler;
import io.spillway.console.UtilizationHistory;
import io.spillway.pool.gateway.GatewayCore;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Wires the console's plain parts into a gateway app: checks {@link ConsoleConfig}, samples the
 * gateway's {@link GatewayCore} and meters into the {@link UtilizationHistory} on a daemon timer from
 * start-up, and holds the {@link FederationReader} and {@link ConsoleAccess}.
 *
 * <p>An app that can time lease grants (the center) produces a {@link PoolSampler.GrantLatency} bean;
 * elsewhere the history's grant latency stays empty.
 */
@Singleton
public class ConsoleService {
  private static final Logger LOG = Logger.getLogger(ConsoleService.class);

  private final UtilizationHistory history;
  private final PoolSampler sampler;
  private final Duration interval;
  private final FederationReader reader;
  private final ConsoleAccess access;
  private ScheduledExecutorService timer;

  @Inject
  public ConsoleService(ConsoleConfig config, Credentials credentials, GatewayCore core, MeterRegistry meters,
      ObjectMapper json, Instance<PoolSampler.GrantLatency> grants) {
    interval = config.history().interval();
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("spillway.console.history.interval is " + interval
          + "; it must be positive");
    }
    if (config.history().samples() < 2) {
      throw new IllegalArgumentException("spillway.console.history.samples is " + config.history().samples()
          + "; it must be at least 2");
    }
    history = new UtilizationHistory(config.history().samples());
    sampler = new PoolSampler(() -> core.placer().snapshot(), () -> core.sessions().size(),
        () -> (long) meters.find("spillway.spilled.sessions").counters().stream().mapToDouble(Counter::count).sum(),
        () -> meters.find("spillway.session.replays").timers().stream().mapToLong(Timer::count).sum(),
        grants.isResolvable() ? grants.get() : PoolSampler.GrantLatency.NONE, InstantSource.system());
    reader = new FederationReader(HttpClient.newBuilder().connectTimeout(FederationReader.TIMEOUT).build(), json,
        FederationReader.parsePeers(config.peers().orElse(List.of())));
    access = credentials.access();
  }

  void start(@Observes StartupEvent event) {
    timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "spillway-console-history");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleAtFixedRate(this::sample, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    LOG.infof("console under /console/ (%s; peers %s); utilization sampled every %s, %d samples kept",
        access.isOpen() ? "open: no authentication configured" : "signed tokens", reader.peers().stream()
            .map(p -> p.name() + "=" + p.url()).toList(), interval, history.capacity());
  }

  private void sample() {
    try {
      history.record(sampler.sample());
    } catch (RuntimeException e) {
      // A failed sample leaves a gap in the charts; the timer must keep running.
      LOG.warnf(e, "console: utilization sample failed");
    }
  }

  void stop(@Observes ShutdownEvent event) {
    if (timer != null) {
      timer.shutdownNow();
    }
  }

  public UtilizationHistory history() {
    return history;
  }

  public Duration interval() {
    return interval;
  }

  public FederationReader reader() {
    return reader;
  }

  public ConsoleAccess access() {
    return access;
  }
}
