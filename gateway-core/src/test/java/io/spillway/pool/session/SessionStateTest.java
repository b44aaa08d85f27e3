package io.spillway.pool.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SessionStateTest {
  private static final Map<SessionState, Set<SessionState>> LEGAL = Map.of(
      SessionState.OPENING, EnumSet.of(SessionState.FORWARDING, SessionState.ENDED),
      SessionState.FORWARDING, EnumSet.of(SessionState.LOST, SessionState.ENDED),
      SessionState.LOST, EnumSet.of(SessionState.REBUILDING, SessionState.ENDED),
      SessionState.REBUILDING, EnumSet.of(SessionState.CATCHING_UP, SessionState.FORWARDING, SessionState.LOST,
          SessionState.ENDED),
      SessionState.CATCHING_UP, EnumSet.of(SessionState.FORWARDING, SessionState.LOST, SessionState.ENDED),
      SessionState.ENDED, EnumSet.noneOf(SessionState.class));

  @Test
  void everyPairIsLegalExactlyWhenTheTableSaysSo() {
    for (SessionState from : SessionState.values()) {
      for (SessionState to : SessionState.values()) {
        boolean legal = LEGAL.get(from).contains(to);
        assertEquals(legal, from.canMoveTo(to), from + " -> " + to);
        if (legal) {
          assertEquals(to, from.check(to, "s1"));
        } else {
          IllegalStateException e = assertThrows(IllegalStateException.class, () -> from.check(to, "s1"));
          assertTrue(e.getMessage().contains("s1") && e.getMessage().contains(from + " -> " + to), e.getMessage());
        }
      }
    }
  }

  @Test
  void anEndedSessionGoesNowhereAndNoStateReturnsToOpening() {
    for (SessionState s : SessionState.values()) {
      assertFalse(SessionState.ENDED.canMoveTo(s));
      assertFalse(s.canMoveTo(SessionState.OPENING), s + " -> OPENING");
      assertFalse(s.canMoveTo(s) && s != SessionState.ENDED, s + " -> itself");
    }
  }
}
