package io.spillway.pool.gateway;

import io.spillway.node.server.GpuNodeServer;

/** Stops a node the hard way for tests: connections are cut, nothing is said to the gateway. */
final class GpuServerKiller {
  private GpuServerKiller() {}

  static void kill(GpuNodeServer server) {
    server.close();
  }
}
