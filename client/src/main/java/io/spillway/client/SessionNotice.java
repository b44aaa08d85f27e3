package io.spillway.client;

import java.util.List;

/**
 * Something a gateway told a session that answers no call, for example that it rebuilt the session on
 * another slice after losing its GPU. Delivered to {@link SpillwayClient#onNotice}.
 *
 * @param sessionId the session it concerns
 * @param message   the gateway's words, for people
 * @param devices   the session's GPUs from now on, as {@link GpuSession#devices()} returns them; empty when
 *                  the notice does not change them
 */
public record SessionNotice(String sessionId, String message, List<DeviceInfo> devices) {
  public SessionNotice {
    devices = List.copyOf(devices);
  }
}
