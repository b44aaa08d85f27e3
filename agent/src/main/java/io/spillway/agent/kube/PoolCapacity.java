package io.spillway.agent.kube;

import java.util.OptionalLong;

/** The GPU memory the edge's pool can give slices now; device health follows it. */
@FunctionalInterface
public interface PoolCapacity {

  /** Usable bytes (over the cards of UP nodes, total less reserve), or empty when the edge cannot be read. */
  OptionalLong usableBytes();
}
