package io.spillway.pool.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.Status;
import io.spillway.pool.failover.LossClassifier.Blame;
import io.spillway.pool.failover.LossClassifier.Loss;
import io.spillway.pool.failover.LossClassifier.Verdict;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LossClassifierTest {
  private static final Set<Status.Code> LOST = EnumSet.of(Status.Code.UNAVAILABLE, Status.Code.INTERNAL,
      Status.Code.CANCELLED, Status.Code.DEADLINE_EXCEEDED, Status.Code.UNKNOWN);

  @Test
  void okFinishesTheSessionWhateverElseHolds() {
    for (boolean rebuilding : new boolean[] {false, true}) {
      for (boolean says : new boolean[] {false, true}) {
        for (boolean spilled : new boolean[] {false, true}) {
          assertEquals(new Loss(Verdict.FINISHED, Blame.NONE),
              LossClassifier.classify(Status.Code.OK, rebuilding, says, spilled));
        }
      }
    }
  }

  @Test
  void transportCodesAreLossesAndOtherCodesAreTheSessionsOwnFailureUnlessARebuildWasRefused() {
    for (Status.Code code : Status.Code.values()) {
      if (code == Status.Code.OK) {
        continue;
      }
      Verdict steady = LossClassifier.classify(code, false, false, false).verdict();
      Verdict rebuilding = LossClassifier.classify(code, true, false, false).verdict();
      assertEquals(LOST.contains(code) ? Verdict.LOST : Verdict.SESSION_FAILED, steady, code.toString());
      assertEquals(Verdict.LOST, rebuilding, code + " while rebuilding");
    }
  }

  @Test
  void onlyABareUnavailableBlamesTheUpstreamAndTheCenterKeepsItsLease() {
    assertEquals(Blame.NODE, LossClassifier.classify(Status.Code.UNAVAILABLE, false, false, false).blame());
    assertEquals(Blame.CENTER, LossClassifier.classify(Status.Code.UNAVAILABLE, false, false, true).blame());
    assertEquals(Blame.CENTER, LossClassifier.classify(Status.Code.UNAVAILABLE, true, false, true).blame());
    // The center said it is alive and lost what was under it.
    assertEquals(new Loss(Verdict.LOST, Blame.NONE),
        LossClassifier.classify(Status.Code.UNAVAILABLE, false, true, true));
    for (Status.Code code : LOST) {
      if (code != Status.Code.UNAVAILABLE) {
        assertEquals(Blame.NONE, LossClassifier.classify(code, false, false, false).blame(), code.toString());
        assertEquals(Blame.NONE, LossClassifier.classify(code, false, false, true).blame(), code.toString());
      }
    }
    assertEquals(new Loss(Verdict.LOST, Blame.NONE),
        LossClassifier.classify(Status.Code.FAILED_PRECONDITION, true, false, true));
  }
}
