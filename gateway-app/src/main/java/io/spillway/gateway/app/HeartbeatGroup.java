package io.spillway.gateway.app;

import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import java.time.Duration;

/** The {@code heartbeat.*} keys of a gateway: node liveness. Checked where the app reads its mapping. */
public interface HeartbeatGroup {

  @Doc("how often nodes are asked to heartbeat")
  @WithDefault("1s")
  Duration interval();

  @Doc("how long a node may stay silent before its GPUs leave the pool and the sessions on them are lost "
      + "(ended with `UNAVAILABLE`, or rebuilt elsewhere when the edge journals them); longer than the "
      + "interval")
  @WithDefault("3s")
  Duration timeout();
}
