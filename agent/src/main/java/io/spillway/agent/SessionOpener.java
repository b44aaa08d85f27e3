package io.spillway.agent;

import io.spillway.client.SliceRequest;

/**
 * Opens the session behind one CUDA context. The agent's is the SDK client to the edge; the device plugin
 * wraps it to open sessions for the pod a socket belongs to. Errors: the SDK's {@code SpillwayException}, or
 * {@link IllegalArgumentException} for a request refused before anything is sent (its message reaches the
 * program's log).
 */
@FunctionalInterface
public interface SessionOpener {
  Gpu open(SliceRequest request);
}
