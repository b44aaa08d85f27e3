package io.spillway.agent.kube;

import io.spillway.agent.kube.deviceplugin.v1beta1.ContainerAllocateResponse;
import java.util.List;

/** What {@code Allocate} does for one container's devices. */
public interface Allocator {

  /**
   * Makes the container's CUDA use the shim with these devices' memory; answers the mounts and environment.
   * Asked again for the same ids (a re-admission), it answers the same.
   */
  ContainerAllocateResponse allocate(List<String> deviceIds) throws java.io.IOException;

  /** Ends the allocations no pod holds any more; called on each poll. */
  default void reap() {
  }
}
