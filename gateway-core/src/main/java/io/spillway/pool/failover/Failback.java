package io.spillway.pool.failover;

import io.spillway.pool.placement.Slice;
import java.util.List;

/**
 * Bringing one spilled session home: local slices reserved in its name when local capacity returns, and
 * when it may move onto them (at once, or once it has no op in flight). Not thread-safe: used on its
 * session's serializing executor.
 */
public final class Failback {
  private final boolean immediate;
  private List<Slice> reserved;

  /** @param immediate move as soon as slices are reserved; otherwise wait until the session is idle */
  public Failback(boolean immediate) {
    this.immediate = immediate;
  }

  /** True when it is worth reserving local slices for the session now. */
  public boolean wantsSlices(boolean steady, Recording recording) {
    return reserved == null && steady && recording != null && recording.whyNotReplayable() == null;
  }

  public void reserve(List<Slice> home) {
    reserved = List.copyOf(home);
  }

  /** The reserved slices, if the session may move onto them now; they are then no longer reserved here. */
  public List<Slice> takeIfDue(boolean steady, Recording recording) {
    if (reserved == null || !steady || (!immediate && !recording.idle())
        || recording.whyNotReplayable() != null) {
      return null;
    }
    List<Slice> home = reserved;
    reserved = null;
    return home;
  }

  /** Forgets the reservation (the session moves elsewhere or ends); true if there was one to release. */
  public boolean drop() {
    boolean had = reserved != null;
    reserved = null;
    return had;
  }
}
