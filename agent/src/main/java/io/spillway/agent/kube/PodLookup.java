package io.spillway.agent.kube;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.spillway.agent.kube.podresources.v1.ContainerDevices;
import io.spillway.agent.kube.podresources.v1.ContainerResources;
import io.spillway.agent.kube.podresources.v1.ListPodResourcesRequest;
import io.spillway.agent.kube.podresources.v1.ListPodResourcesResponse;
import io.spillway.agent.kube.podresources.v1.PodResources;
import io.spillway.agent.kube.podresources.v1.PodResourcesListerGrpc;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Which pod holds which of our devices, from the kubelet's PodResources API ({@code v1.PodResourcesLister/List}
 * on its Unix socket). Every question is one {@code List}: the kubelet answers from memory, and an answer
 * kept here could name a pod that has gone.
 */
public final class PodLookup implements AutoCloseable {

  /** A container of a pod on this node. */
  public record PodRef(String namespace, String pod, String container) {
  }

  private final Path socket;
  private final String resourceName;
  private final ManagedChannel channel;

  public PodLookup(UnixGrpc grpc, Path socket, String resourceName) {
    this.socket = socket;
    this.resourceName = resourceName;
    this.channel = grpc.channel(socket);
  }

  private ListPodResourcesResponse list() {
    try {
      return PodResourcesListerGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .list(ListPodResourcesRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw new IllegalStateException("the kubelet's PodResources at " + socket + " did not answer List: "
          + e.getStatus(), e);
    }
  }

  /** The container that holds every one of {@code deviceIds} of our resource, if any. */
  public Optional<PodRef> holder(Collection<String> deviceIds) {
    Set<String> want = new HashSet<>(deviceIds);
    for (PodResources p : list().getPodResourcesList()) {
      for (ContainerResources c : p.getContainersList()) {
        Set<String> held = new HashSet<>();
        for (ContainerDevices d : c.getDevicesList()) {
          if (resourceName.equals(d.getResourceName())) {
            held.addAll(d.getDeviceIdsList());
          }
        }
        if (!want.isEmpty() && held.containsAll(want)) {
          return Optional.of(new PodRef(p.getNamespace(), p.getName(), c.getName()));
        }
      }
    }
    return Optional.empty();
  }

  /** Every id of our resource that some container holds now. */
  public Set<String> held() {
    Set<String> held = new HashSet<>();
    for (PodResources p : list().getPodResourcesList()) {
      for (ContainerResources c : p.getContainersList()) {
        for (ContainerDevices d : c.getDevicesList()) {
          if (resourceName.equals(d.getResourceName())) {
            held.addAll(d.getDeviceIdsList());
          }
        }
      }
    }
    return held;
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }
}
