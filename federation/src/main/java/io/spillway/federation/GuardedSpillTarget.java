package io.spillway.federation;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.TypedGuard;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.pool.session.SpillTarget;
import jakarta.enterprise.util.TypeLiteral;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.eclipse.microprofile.faulttolerance.exceptions.BulkheadException;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;
import org.eclipse.microprofile.faulttolerance.exceptions.TimeoutException;

/**
 * The edge's way to the center, guarded by SmallRye Fault Tolerance (programmatic API). A borrow goes
 * through, outermost first:
 *
 * <ol>
 *   <li>a SmallRye bulkhead per tenant: {@link Policy#bulkheadPerTenant()} borrows in flight at once and
 *       one more waiting (SmallRye's asynchronous bulkhead queues at least one); beyond that a borrow fails
 *       at once with {@code RESOURCE_EXHAUSTED} naming the tenant and the limit;
 *   <li>a retry with exponential backoff and jitter, only for failures whose gRPC status is
 *       {@code UNAVAILABLE} (no answer from the lease leader, Kafka down, an attempt timed out);
 *       {@code RESOURCE_EXHAUSTED} (the center is full) and everything else fail at once;
 *   <li>a circuit breaker over the center: attempts failing with {@code UNAVAILABLE} or timing out, and
 *       every {@link #unreachable} report, are failures; other outcomes are successes (a center that
 *       answers "full" is up). While open, borrows fail fast with {@code UNAVAILABLE} saying when the
 *       center will be probed, and {@link #spillFirst} is false; after its delay one borrow probes it;
 *   <li>a timeout per attempt.
 * </ol>
 *
 * <p>An attempt abandoned by the timeout may still be granted later; such a lease is given back at once,
 * as is any grant other than the one the session uses, and only the session's own lease may call its
 * {@code lost} callback.
 */
public final class GuardedSpillTarget implements SpillTarget {
  private static final System.Logger LOG = System.getLogger(GuardedSpillTarget.class.getName());
  private static final TypeLiteral<CompletionStage<Spill>> STAGE = new TypeLiteral<>() {};
  private static final String KEYS = "spillway.edge.spill.fault-tolerance.";

  /**
   * Every parameter of the policies; the edge maps {@code spillway.edge.spill.fault-tolerance.*} onto it.
   *
   * @param timeout one borrow attempt's limit
   * @param maxRetries retries after the first attempt (UNAVAILABLE only)
   * @param retryDelay wait before the first retry
   * @param retryFactor each further wait is the previous times this
   * @param retryMaxDelay the longest wait
   * @param retryJitter random variation of each wait, plus or minus
   * @param requestVolumeThreshold size of the breaker's rolling window
   * @param failureRatio failures in the window at which it opens
   * @param breakerDelay how long it stays open before a probe
   * @param successThreshold successful probes that close it
   * @param bulkheadPerTenant borrows in flight per tenant
   */
  public record Policy(Duration timeout, int maxRetries, Duration retryDelay, int retryFactor,
      Duration retryMaxDelay, Duration retryJitter, int requestVolumeThreshold, double failureRatio,
      Duration breakerDelay, int successThreshold, int bulkheadPerTenant) {

    /** Checks every parameter, naming its configuration key. */
    public Policy {
      positive(timeout, "timeout");
      require(maxRetries >= 0, "retry.max-retries is " + maxRetries + "; it must be >= 0 (0: no retry)");
      require(!retryDelay.isNegative(), "retry.delay is " + retryDelay + "; it must be >= 0");
      require(retryFactor >= 1, "retry.factor is " + retryFactor + "; it must be >= 1 (1: a constant delay)");
      require(retryMaxDelay.compareTo(retryDelay) >= 0, "retry.max-delay is " + retryMaxDelay
          + "; it must be >= " + KEYS + "retry.delay (" + retryDelay + ")");
      require(!retryJitter.isNegative(), "retry.jitter is " + retryJitter + "; it must be >= 0");
      require(requestVolumeThreshold >= 1, "circuit-breaker.request-volume-threshold is "
          + requestVolumeThreshold + "; it must be >= 1");
      require(failureRatio > 0 && failureRatio <= 1, "circuit-breaker.failure-ratio is " + failureRatio
          + "; it must be > 0 and <= 1");
      positive(breakerDelay, "circuit-breaker.delay");
      require(successThreshold >= 1, "circuit-breaker.success-threshold is " + successThreshold
          + "; it must be >= 1");
      require(bulkheadPerTenant >= 1, "bulkhead.per-tenant is " + bulkheadPerTenant + "; it must be >= 1");
    }

    private static void positive(Duration d, String key) {
      require(d != null && !d.isNegative() && !d.isZero(), key + " is " + d + "; it must be positive");
    }

    private static void require(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(KEYS + message);
      }
    }
  }

  /** What an operator sees of the breaker: its state, since when, and when an open one is probed. */
  public record BreakerView(String state, Instant since, Instant probeAt) {}

  private final SpillTarget delegate;
  private final Policy policy;
  private final InstantSource clock;
  private final TypedGuard<CompletionStage<Spill>> retry;
  private final TypedGuard<CompletionStage<Spill>> center;
  private final Map<String, TypedGuard<CompletionStage<Spill>>> tenants = new ConcurrentHashMap<>();
  private volatile CircuitBreakerState state = CircuitBreakerState.CLOSED;
  private volatile Instant since;

  public GuardedSpillTarget(SpillTarget delegate, Policy policy) {
    this(delegate, policy, InstantSource.system());
  }

  GuardedSpillTarget(SpillTarget delegate, Policy policy, InstantSource clock) {
    this.delegate = delegate;
    this.policy = policy;
    this.clock = clock;
    this.since = clock.instant();
    this.retry = TypedGuard.create(STAGE)
        .withDescription("spill borrow retry")
        .withRetry()
            .maxRetries(policy.maxRetries())
            .delay(policy.retryDelay().toMillis(), ChronoUnit.MILLIS)
            .jitter(policy.retryJitter().toMillis(), ChronoUnit.MILLIS)
            .maxDuration(0, ChronoUnit.MILLIS)
            .whenException(GuardedSpillTarget::isUnavailable)
            .withExponentialBackoff()
                .factor(policy.retryFactor())
                .maxDelay(policy.retryMaxDelay().toMillis(), ChronoUnit.MILLIS)
                .done()
            .done()
        .build();
    this.center = TypedGuard.create(STAGE)
        .withDescription("center")
        .withCircuitBreaker()
            .requestVolumeThreshold(policy.requestVolumeThreshold())
            .failureRatio(policy.failureRatio())
            .delay(policy.breakerDelay().toMillis(), ChronoUnit.MILLIS)
            .successThreshold(policy.successThreshold())
            .when(GuardedSpillTarget::isCenterFailure)
            .onStateChange(this::stateChanged)
            .done()
        .withTimeout()
            .duration(policy.timeout().toMillis(), ChronoUnit.MILLIS)
            .done()
        .build();
  }

  public Policy policy() {
    return policy;
  }

  /** The circuit breaker's state now. */
  public BreakerView breaker() {
    CircuitBreakerState s = state;
    Instant at = since;
    return new BreakerView(s.name(), at, s == CircuitBreakerState.OPEN ? at.plus(policy.breakerDelay()) : null);
  }

  private void stateChanged(CircuitBreakerState next) {
    CircuitBreakerState previous = state;
    state = next;
    since = clock.instant();
    switch (next) {
      case OPEN -> LOG.log(Level.WARNING, String.format(Locale.ROOT, "center circuit breaker OPEN (was %s): at least %.0f%% of the last %d borrows "
          + "failed or reported the center unreachable; spills fail fast until a probe at %s", previous,
          policy.failureRatio() * 100, policy.requestVolumeThreshold(), since.plus(policy.breakerDelay())));
      case HALF_OPEN -> LOG.log(Level.INFO, String.format(Locale.ROOT, "center circuit breaker HALF_OPEN: probing the center"));
      case CLOSED -> LOG.log(Level.INFO, String.format(Locale.ROOT, "center circuit breaker CLOSED (was %s): spilling to the center again", previous));
    }
  }

  @Override
  public boolean spillFirst(PoolSnapshot local) {
    return state != CircuitBreakerState.OPEN && delegate.spillFirst(local);
  }

  @Override
  public CompletableFuture<Spill> borrow(SessionId session, SliceRequest request, Consumer<Status> lost) {
    String tenant = request.tenant();
    TypedGuard<CompletionStage<Spill>> bulkhead = tenants.computeIfAbsent(tenant, t -> TypedGuard.create(STAGE)
        .withDescription("center borrows of tenant " + t)
        .withBulkhead()
            .limit(policy.bulkheadPerTenant())
            .queueSize(1)
            .done()
        .build());
    Attempts attempts = new Attempts(session, request, lost);
    CompletableFuture<Spill> out = new CompletableFuture<>();
    CompletionStage<Spill> guarded;
    try {
      guarded = bulkhead.get(() -> retry.get(() -> unavailableOnTimeout(center.get(attempts::next))));
    } catch (RuntimeException e) {
      guarded = CompletableFuture.failedFuture(e);
    }
    guarded.whenComplete((spill, error) -> {
      if (error == null) {
        attempts.decide(spill);
        out.complete(spill);
      } else if (unwrap(error) instanceof BulkheadException) {
        attempts.decide(null);
        out.completeExceptionally(Status.RESOURCE_EXHAUSTED.withDescription("tenant " + tenant
            + " already has " + policy.bulkheadPerTenant() + " borrows from the center in flight and one"
            + " waiting, its limit (" + KEYS + "bulkhead.per-tenant); try again once one is answered")
            .asException());
      } else {
        attempts.decide(null);
        out.completeExceptionally(toStatus(error).asException());
      }
    });
    return out;
  }

  /** The timeout inside the breaker fails an attempt with its own exception; retries go by status. */
  private CompletionStage<Spill> unavailableOnTimeout(CompletionStage<Spill> attempt) {
    CompletableFuture<Spill> converted = new CompletableFuture<>();
    attempt.whenComplete((spill, error) -> {
      if (error == null) {
        converted.complete(spill);
      } else if (unwrap(error) instanceof TimeoutException) {
        converted.completeExceptionally(Status.UNAVAILABLE.withDescription("no lease granted within "
            + policy.timeout() + " (" + KEYS + "timeout)").asRuntimeException());
      } else {
        converted.completeExceptionally(unwrap(error));
      }
    });
    return converted;
  }

  private Status toStatus(Throwable error) {
    Throwable t = unwrap(error);
    if (t instanceof CircuitBreakerOpenException) {
      BreakerView view = breaker();
      return Status.UNAVAILABLE.withDescription("the center is considered down: the circuit breaker opened at "
          + view.since() + " after too many failed borrows or unreachable reports; it will be probed at "
          + (view.probeAt() == null ? "the next borrow" : view.probeAt() + " or the first borrow after"));
    }
    if (t instanceof TimeoutException) {
      return Status.UNAVAILABLE.withDescription("no lease granted within " + policy.timeout());
    }
    return Status.fromThrowable(t);
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static Optional<Status.Code> code(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof StatusException e) {
        return Optional.of(e.getStatus().getCode());
      }
      if (t instanceof StatusRuntimeException e) {
        return Optional.of(e.getStatus().getCode());
      }
    }
    return Optional.empty();
  }

  /** Retried: a gRPC status of UNAVAILABLE and nothing else. */
  static boolean isUnavailable(Throwable error) {
    return code(error).filter(c -> c == Status.Code.UNAVAILABLE).isPresent();
  }

  /** Counted against the center by the breaker: UNAVAILABLE or an attempt that timed out. */
  static boolean isCenterFailure(Throwable error) {
    return isUnavailable(error) || unwrap(error) instanceof TimeoutException;
  }

  @Override
  public void giveBack(Spill spill) {
    delegate.giveBack(spill);
  }

  @Override
  public java.util.Optional<Spill> elsewhere(Spill spill) {
    return delegate.elsewhere(spill);
  }

  @Override
  public void unreachable(Spill spill, Status status) {
    delegate.unreachable(spill, status);
    // One failed call through the breaker records the report (ignored while the breaker is open).
    try {
      center.get(() -> CompletableFuture.failedFuture(Status.UNAVAILABLE.withDescription("center "
          + spill.centerAddress() + " reported unreachable: " + status).asRuntimeException()))
          .whenComplete((ignored, error) -> { });
    } catch (RuntimeException e) {
      LOG.log(Level.DEBUG, String.format(Locale.ROOT, "unreachable report not recorded: %s", e));
    }
  }

  /**
   * The attempts of one borrow. Only the grant the session ends up with is kept; others (an attempt
   * abandoned by the timeout and granted later) are given back, and only the kept lease reaches the
   * session's {@code lost} callback.
   */
  private final class Attempts {
    private final SessionId session;
    private final SliceRequest request;
    private final Consumer<Status> lost;
    private final List<Attempt> all = new ArrayList<>();
    private boolean decided;
    private Attempt kept;

    Attempts(SessionId session, SliceRequest request, Consumer<Status> lost) {
      this.session = session;
      this.request = request;
      this.lost = lost;
    }

    private final class Attempt {
      Spill spill;
      Status pendingLost;

      void lost(Status status) {
        boolean tell;
        synchronized (Attempts.this) {
          tell = kept == this;
          if (!tell && !decided) {
            pendingLost = status;
          }
        }
        if (tell) {
          lost.accept(status);
        }
      }
    }

    CompletionStage<Spill> next() {
      Attempt a = new Attempt();
      synchronized (this) {
        all.add(a);
      }
      return delegate.borrow(session, request, a::lost).thenApply(spill -> {
        boolean late;
        synchronized (this) {
          a.spill = spill;
          late = decided;
        }
        if (late) {
          LOG.log(Level.INFO, String.format(Locale.ROOT, "lease %s was granted after its borrow was given up; giving it back", spill.leaseId()));
          delegate.giveBack(spill);
        }
        return spill;
      });
    }

    void decide(Spill chosen) {
      List<Spill> giveBack = new ArrayList<>();
      Status tell = null;
      synchronized (this) {
        decided = true;
        for (Attempt a : all) {
          if (a.spill == null) {
            continue;
          }
          if (kept == null && a.spill.equals(chosen)) {
            kept = a;
            tell = a.pendingLost;
          } else {
            giveBack.add(a.spill);
          }
        }
      }
      giveBack.forEach(delegate::giveBack);
      if (tell != null) {
        lost.accept(tell);
      }
    }
  }
}
