package io.spillway.launcher;

import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SpillwayException;

/** What the demo workloads do with sessions. */
final class Sessions {
  private Sessions() {}

  /**
   * Closes a session whose end does not matter any more: one that already failed, or whose node died
   * after its last request (close then reports that failure, which the workload has nothing to do with).
   */
  static void closeQuietly(GpuSession gpu) {
    if (gpu == null) {
      return;
    }
    try {
      gpu.close();
    } catch (SpillwayException e) {
      if (e.code() != Status.Code.UNAVAILABLE) {
        throw e;
      }
    }
  }
}
