package io.spillway.pool.gateway;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.logging.Logger;

/**
 * Finds an upstream server that stopped answering (a frozen process, a host that hangs) while its
 * connection stays open, within {@code interval + timeout}.
 *
 * <p>HTTP/2 keepalive cannot do it fast: grpc-java raises a client's keepalive time to at least 10 s,
 * so the 2 s asked for became 10 s plus the timeout, and heartbeats, when quicker, found a hung server
 * first. Instead, every {@code interval} each connected upstream channel gets one call of a method no
 * server has ({@link #METHOD}): a live server answers it with {@code UNIMPLEMENTED} (or any other status)
 * at once, from its transport; a hung one does not answer within {@code timeout}. Then the channel is
 * shut down, which breaks every stream on it with {@code UNAVAILABLE}: its sessions are rebuilt
 * elsewhere and the node leaves placement, as when it dies.
 *
 * <p>Thread-safe: {@link #probe} runs on the gateway's timer, answers on transport threads.
 */
final class UpstreamProbe {
  private static final Logger LOG = Logger.getLogger(UpstreamProbe.class.getName());

  /** Unknown to every server, so answered by the transport without reaching any service. */
  static final String METHOD = "spillway.v1.Probe/Ping";

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  private static final MethodDescriptor<byte[], byte[]> PING = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(METHOD)
      .setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();

  private final Map<String, ManagedChannel> channels;
  private final Duration timeout;
  private final BiConsumer<String, Status> hung;
  private final Set<ManagedChannel> inFlight = ConcurrentHashMap.newKeySet();

  /**
   * @param channels the gateway's upstream channels by address; a hung one is removed and shut down
   * @param hung told the address and why, after the channel is shut down
   */
  UpstreamProbe(Map<String, ManagedChannel> channels, Duration timeout, BiConsumer<String, Status> hung) {
    this.channels = channels;
    this.timeout = timeout;
    this.hung = hung;
  }

  /** Sends one probe on each connected channel that has none in flight. */
  void probe() {
    for (Map.Entry<String, ManagedChannel> e : channels.entrySet()) {
      ManagedChannel channel = e.getValue();
      if (channel.getState(false) != ConnectivityState.READY || !inFlight.add(channel)) {
        continue;
      }
      String address = e.getKey();
      ClientCall<byte[], byte[]> call = channel.newCall(PING,
          CallOptions.DEFAULT.withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS));
      call.start(new ClientCall.Listener<>() {
        @Override
        public void onClose(Status status, Metadata trailers) {
          inFlight.remove(channel);
          if (status.getCode() == Status.Code.DEADLINE_EXCEEDED && channels.remove(address, channel)) {
            Status why = Status.UNAVAILABLE.withDescription("upstream " + address + " did not answer a probe"
                + " within " + timeout.toMillis() + " ms: it is hung");
            LOG.warning(why::getDescription);
            channel.shutdownNow();
            hung.accept(address, why);
          }
        }
      }, new Metadata());
      call.request(1);
      call.sendMessage(new byte[0]);
      call.halfClose();
    }
  }
}
