package io.spillway.agent.kube;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Path;

/**
 * gRPC over Unix domain sockets, as the kubelet speaks it: Netty's epoll domain-socket channels on one small
 * event loop group that this object owns.
 */
public final class UnixGrpc implements AutoCloseable {

  private final EventLoopGroup group;

  public UnixGrpc() {
    this.group = new EpollEventLoopGroup(1, r -> {
      Thread t = new Thread(r, "spillway-kubelet-grpc");
      t.setDaemon(true);
      return t;
    });
  }

  /** A started server on {@code socket} (which must not exist). */
  public Server serve(Path socket, BindableService... services) throws IOException {
    NettyServerBuilder b = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group)
        .workerEventLoopGroup(group);
    for (BindableService s : services) {
      b.addService(s);
    }
    return b.build().start();
  }

  /** A channel to the server on {@code socket}; it connects at its first call. */
  public ManagedChannel channel(Path socket) {
    return NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class)
        .eventLoopGroup(group)
        .usePlaintext()
        .build();
  }

  @Override
  public void close() {
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
  }
}
