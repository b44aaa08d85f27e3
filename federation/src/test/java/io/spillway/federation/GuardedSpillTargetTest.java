package io.spillway.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.PoolSnapshot;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.pool.session.SpillTarget;
import io.spillway.testkit.Await;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

/**
 * The fault-tolerance policies of {@link GuardedSpillTarget} over a fake {@link SpillTarget} (the
 * policies are under test here, not leases): which failures are retried and how, the circuit breaker's
 * open / fail-fast / half-open / closed cycle, the per-tenant bulkhead, the timeout.
 */
class GuardedSpillTargetTest {

  /** A center whose answer to the n-th borrow (0-based) the test decides. */
  static final class FakeCenter implements SpillTarget {
    final AtomicInteger borrows = new AtomicInteger();
    final List<Spill> givenBack = new CopyOnWriteArrayList<>();
    final List<Consumer<Status>> lostCallbacks = new CopyOnWriteArrayList<>();
    final List<Long> borrowNanos = new CopyOnWriteArrayList<>();
    volatile IntFunction<CompletableFuture<Spill>> answer;
    volatile boolean spillFirst = true;

    FakeCenter(IntFunction<CompletableFuture<Spill>> answer) {
      this.answer = answer;
    }

    @Override
    public boolean spillFirst(PoolSnapshot local) {
      return spillFirst;
    }

    @Override
    public CompletableFuture<Spill> borrow(SessionId session, SliceRequest request, Consumer<Status> lost) {
      borrowNanos.add(System.nanoTime());
      lostCallbacks.add(lost);
      return answer.apply(borrows.getAndIncrement());
    }

    @Override
    public void giveBack(Spill spill) {
      givenBack.add(spill);
    }
  }

  static CompletableFuture<SpillTarget.Spill> granted(int n) {
    return CompletableFuture.completedFuture(spill(n));
  }

  static SpillTarget.Spill spill(int n) {
    return new SpillTarget.Spill("center:7071", "lease-" + n, 1);
  }

  static CompletableFuture<SpillTarget.Spill> failing(Status status) {
    return CompletableFuture.failedFuture(status.withDescription("test: " + status.getCode()).asRuntimeException());
  }

  /** Defaults for the tests: no retries, a breaker that needs many requests, a large bulkhead. */
  static GuardedSpillTarget.Policy policy(Duration timeout, int retries, int volume, double ratio,
      Duration breakerDelay, int perTenant) {
    return new GuardedSpillTarget.Policy(timeout, retries, Duration.ofMillis(20), 2, Duration.ofMillis(100),
        Duration.ZERO, volume, ratio, breakerDelay, 1, perTenant);
  }

  static SliceRequest tenant(String tenant) {
    return SliceRequest.builder(tenant).memoryBytes(1L << 30).build();
  }

  static Status.Code failureCode(CompletableFuture<?> f) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
    return Status.fromThrowable(e.getCause()).getCode();
  }

  static String failureText(CompletableFuture<?> f) {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
    return String.valueOf(Status.fromThrowable(e.getCause()).getDescription());
  }

  private static CompletableFuture<SpillTarget.Spill> borrow(GuardedSpillTarget guard, String tenant) {
    return guard.borrow(SessionId.of("s"), tenant(tenant), s -> { });
  }

  @Test
  void unavailableIsRetriedWithExponentialBackoffUntilItSucceeds() throws Exception {
    FakeCenter center = new FakeCenter(n -> n < 3 ? failing(Status.UNAVAILABLE) : granted(n));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 3, 100, 0.99, Duration.ofSeconds(5), 8));
    assertEquals(spill(3), borrow(guard, "acme").get(5, TimeUnit.SECONDS));
    assertEquals(4, center.borrows.get(), "three UNAVAILABLE answers, three retries");
    // delay 20 ms, factor 2, no jitter: waits of about 20, 40 and 80 ms.
    List<Long> at = center.borrowNanos;
    long second = at.get(2) - at.get(1);
    long third = at.get(3) - at.get(2);
    assertTrue(second >= TimeUnit.MILLISECONDS.toNanos(35), "second wait " + second / 1_000_000 + " ms");
    assertTrue(third >= TimeUnit.MILLISECONDS.toNanos(75), "third wait " + third / 1_000_000 + " ms");
  }

  @Test
  void retriesStopAtTheLimitAndTheLastUnavailableIsReported() throws Exception {
    FakeCenter center = new FakeCenter(n -> failing(Status.UNAVAILABLE));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 2, 100, 0.99, Duration.ofSeconds(5), 8));
    assertEquals(Status.Code.UNAVAILABLE, failureCode(borrow(guard, "acme")));
    assertEquals(3, center.borrows.get(), "the first attempt and two retries");
  }

  @Test
  void aFullCenterIsNotRetried() throws Exception {
    FakeCenter center = new FakeCenter(n -> failing(Status.RESOURCE_EXHAUSTED));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 3, 100, 0.99, Duration.ofSeconds(5), 8));
    CompletableFuture<SpillTarget.Spill> f = borrow(guard, "acme");
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, failureCode(f));
    assertEquals("test: RESOURCE_EXHAUSTED", failureText(f), "the center's own reason reaches the session");
    assertEquals(1, center.borrows.get());
  }

  @Test
  void otherFailuresAreNotRetried() throws Exception {
    FakeCenter center = new FakeCenter(n -> failing(Status.FAILED_PRECONDITION));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 3, 100, 0.99, Duration.ofSeconds(5), 8));
    assertEquals(Status.Code.FAILED_PRECONDITION, failureCode(borrow(guard, "acme")));
    assertEquals(1, center.borrows.get());
  }

  @Test
  void theBreakerOpensAfterTheThresholdFailsFastThenHalfOpensAndClosesOnSuccess() throws Exception {
    FakeCenter center = new FakeCenter(n -> failing(Status.UNAVAILABLE));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 0, 4, 0.5, Duration.ofMillis(300), 8));
    for (int i = 0; i < 4; i++) {
      assertEquals(Status.Code.UNAVAILABLE, failureCode(borrow(guard, "acme")));
      assertEquals(i < 3 ? "CLOSED" : "OPEN", guard.breaker().state(), "after failure " + (i + 1));
    }
    assertEquals(4, center.borrows.get());
    assertFalse(guard.spillFirst(null), "an open breaker sends nothing to the center first");

    long before = System.nanoTime();
    CompletableFuture<SpillTarget.Spill> fast = borrow(guard, "acme");
    String why = failureText(fast);
    assertEquals(Status.Code.UNAVAILABLE, failureCode(fast));
    assertTrue(System.nanoTime() - before < TimeUnit.MILLISECONDS.toNanos(200), "fails fast");
    assertEquals(4, center.borrows.get(), "the delegate is not called while the breaker is open");
    assertTrue(why.contains("considered down") && why.contains("probed at " + guard.breaker().probeAt()), why);

    center.answer = GuardedSpillTargetTest::granted;
    Thread.sleep(350);
    assertEquals(spill(4), borrow(guard, "acme").get(5, TimeUnit.SECONDS), "the probe goes through");
    assertEquals(5, center.borrows.get());
    assertEquals("CLOSED", guard.breaker().state(), "a successful probe closes the breaker");
    assertNull(guard.breaker().probeAt());
    assertTrue(guard.spillFirst(null));
  }

  @Test
  void aFailedProbeOpensTheBreakerAgain() throws Exception {
    FakeCenter center = new FakeCenter(n -> failing(Status.UNAVAILABLE));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 0, 2, 1.0, Duration.ofMillis(200), 8));
    failureCode(borrow(guard, "acme"));
    failureCode(borrow(guard, "acme"));
    assertEquals("OPEN", guard.breaker().state());
    Thread.sleep(250);
    failureCode(borrow(guard, "acme"));
    assertEquals(3, center.borrows.get(), "one probe went through");
    assertEquals("OPEN", guard.breaker().state());
    failureCode(borrow(guard, "acme"));
    assertEquals(3, center.borrows.get(), "open again: fail fast");
  }

  @Test
  void aFullCenterDoesNotOpenTheBreaker() throws Exception {
    FakeCenter center = new FakeCenter(n -> failing(Status.RESOURCE_EXHAUSTED));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 0, 2, 0.5, Duration.ofSeconds(5), 8));
    for (int i = 0; i < 5; i++) {
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, failureCode(borrow(guard, "acme")));
    }
    assertEquals("CLOSED", guard.breaker().state());
    assertEquals(5, center.borrows.get());
  }

  @Test
  void unreachableReportsCountAgainstTheCenter() throws Exception {
    FakeCenter center = new FakeCenter(GuardedSpillTargetTest::granted);
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(2), 0, 2, 1.0, Duration.ofSeconds(5), 8));
    guard.unreachable(spill(0), Status.UNAVAILABLE);
    assertEquals("CLOSED", guard.breaker().state());
    guard.unreachable(spill(1), Status.UNAVAILABLE);
    assertEquals("OPEN", guard.breaker().state(), "two reports fill the window with failures");
    assertEquals(Status.Code.UNAVAILABLE, failureCode(borrow(guard, "acme")));
    assertEquals(0, center.borrows.get());
  }

  @Test
  void thePerTenantBulkheadQueuesOneAndRefusesTheNextBorrowOfOneTenantOnly() throws Exception {
    List<CompletableFuture<SpillTarget.Spill>> pending = new CopyOnWriteArrayList<>();
    FakeCenter center = new FakeCenter(n -> {
      CompletableFuture<SpillTarget.Spill> f = new CompletableFuture<>();
      pending.add(f);
      return f;
    });
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofSeconds(10), 0, 100, 0.99, Duration.ofSeconds(5), 2));
    CompletableFuture<SpillTarget.Spill> a1 = borrow(guard, "acme");
    CompletableFuture<SpillTarget.Spill> a2 = borrow(guard, "acme");
    CompletableFuture<SpillTarget.Spill> a3 = borrow(guard, "acme"); // waits in the bulkhead's queue
    CompletableFuture<SpillTarget.Spill> refused = borrow(guard, "acme");
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, failureCode(refused));
    String why = failureText(refused);
    assertTrue(why.contains("acme") && why.contains("2") && why.contains("bulkhead.per-tenant"), why);
    CompletableFuture<SpillTarget.Spill> g1 = borrow(guard, "globex");
    assertEquals(3, center.borrows.get(), "acme's third borrow waits, its fourth is refused; globex's went on");
    assertFalse(a1.isDone() || a2.isDone() || a3.isDone() || g1.isDone());

    pending.get(0).complete(spill(0));
    assertEquals(spill(0), a1.get(5, TimeUnit.SECONDS));
    Await.until("a finished borrow lets the waiting one through (4 borrows)", () -> center.borrows.get() >= 4);
    CompletableFuture<SpillTarget.Spill> a4 = a3;
    pending.get(1).complete(spill(1));
    pending.get(2).complete(spill(2));
    pending.get(3).complete(spill(3));
    assertEquals(spill(1), a2.get(5, TimeUnit.SECONDS));
    assertEquals(spill(2), g1.get(5, TimeUnit.SECONDS));
    assertEquals(spill(3), a4.get(5, TimeUnit.SECONDS));
  }

  @Test
  void anAttemptPastTheTimeoutIsRetriedAndItsLateGrantIsGivenBack() throws Exception {
    CompletableFuture<SpillTarget.Spill> slow = new CompletableFuture<>();
    FakeCenter center = new FakeCenter(n -> n == 0 ? slow : granted(n));
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofMillis(150), 1, 100, 0.99, Duration.ofSeconds(5), 8));
    List<Status> lost = new CopyOnWriteArrayList<>();
    CompletableFuture<SpillTarget.Spill> f = guard.borrow(SessionId.of("s"), tenant("acme"), lost::add);
    assertEquals(spill(1), f.get(5, TimeUnit.SECONDS), "the timed-out attempt is retried");
    assertEquals(2, center.borrows.get());

    slow.complete(spill(0));
    assertEquals(List.of(spill(0)), center.givenBack, "a grant that came too late goes back");
    center.lostCallbacks.get(0).accept(Status.UNAVAILABLE.withDescription("lease-0 revoked"));
    assertTrue(lost.isEmpty(), "a lease the session does not use cannot end it");
    center.lostCallbacks.get(1).accept(Status.UNAVAILABLE.withDescription("lease-1 revoked"));
    assertEquals(1, lost.size(), "the session's own lease does");
  }

  @Test
  void aTimeoutWithoutRetriesIsUnavailable() throws Exception {
    FakeCenter center = new FakeCenter(n -> new CompletableFuture<>());
    GuardedSpillTarget guard = new GuardedSpillTarget(center,
        policy(Duration.ofMillis(100), 0, 100, 0.99, Duration.ofSeconds(5), 8));
    CompletableFuture<SpillTarget.Spill> f = borrow(guard, "acme");
    assertEquals(Status.Code.UNAVAILABLE, failureCode(f));
    assertTrue(failureText(f).contains("no lease granted within"), failureText(f));
  }

  @Test
  void policiesAreValidatedNamingTheKey() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> policy(Duration.ofSeconds(1), 0, 10, 1.5, Duration.ofSeconds(1), 8));
    assertTrue(e.getMessage().contains("spillway.edge.spill.fault-tolerance.circuit-breaker.failure-ratio is 1.5"),
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> policy(Duration.ofSeconds(1), 0, 10, 0.5, Duration.ofSeconds(1), 0));
    assertTrue(e.getMessage().contains("bulkhead.per-tenant is 0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new GuardedSpillTarget.Policy(Duration.ofSeconds(1),
        2, Duration.ofSeconds(2), 2, Duration.ofSeconds(1), Duration.ZERO, 10, 0.5, Duration.ofSeconds(1), 1, 8));
    assertTrue(e.getMessage().contains("retry.max-delay is PT1S"), e.getMessage());
  }
}
