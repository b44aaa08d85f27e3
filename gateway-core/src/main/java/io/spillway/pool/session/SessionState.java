package io.spillway.pool.session;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a session through the gateway stands. The transitions are the whole table: a move not listed is
 * a bug in the gateway and fails loudly ({@link #check}).
 *
 * <pre>
 * OPENING ──▶ FORWARDING ──▶ LOST ──▶ REBUILDING ──▶ CATCHING_UP ──▶ FORWARDING
 *    │            │  ▲         ▲  │        │  │            │
 *    │            │  └─────────┼──┼────────┘  └────────────┼──▶ LOST
 *    ▼            ▼            │  ▼                        ▼
 *  ENDED        ENDED          └─ (any but OPENING)      ENDED
 * </pre>
 */
public enum SessionState {
  /** The open is being admitted, placed, borrowed for, or awaits the upstream's Opened. */
  OPENING,
  /** Frames pass both ways. */
  FORWARDING,
  /** The upstream is gone; a new one is being found. Client frames are journaled, not sent. */
  LOST,
  /** A new upstream was sent the rebuilt open and the journal, and has not answered the open yet. */
  REBUILDING,
  /** The new upstream opened the session; its replies are filtered until it has caught up. */
  CATCHING_UP,
  /** The client's stream is closed; nothing more happens. */
  ENDED;

  private Set<SessionState> next;

  static {
    OPENING.next = EnumSet.of(FORWARDING, ENDED);
    FORWARDING.next = EnumSet.of(LOST, ENDED);
    LOST.next = EnumSet.of(REBUILDING, ENDED);
    REBUILDING.next = EnumSet.of(CATCHING_UP, FORWARDING, LOST, ENDED);
    CATCHING_UP.next = EnumSet.of(FORWARDING, LOST, ENDED);
    ENDED.next = EnumSet.noneOf(SessionState.class);
  }

  public boolean canMoveTo(SessionState to) {
    return next.contains(to);
  }

  /** Returns {@code to}, or throws if the table has no such move. */
  SessionState check(SessionState to, String session) {
    if (!canMoveTo(to)) {
      throw new IllegalStateException("session " + session + ": illegal transition " + this + " -> " + to);
    }
    return to;
  }
}
