package io.spillway.launcher;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The smallest federation that shows the behaviour: an embedded broker, one center gateway with one GPU
 * server, one edge with one GPU server, on free ports, with fast heartbeats.
 */
final class SmallTopology {
  final int kafka;
  final int centerGrpc;
  final int centerHttp;
  final int centerNode;
  final int edgeGrpc;
  final int edgeHttp;
  final int edgeNode;
  final Path file;

  SmallTopology(Path dir) throws IOException {
    kafka = Site.freePort();
    centerGrpc = Site.freePort();
    centerHttp = Site.freePort();
    centerNode = Site.freePort();
    edgeGrpc = Site.freePort();
    edgeHttp = Site.freePort();
    edgeNode = Site.freePort();
    file = dir.resolve("small.yaml");
    Files.writeString(file, """
        name: small
        kafka:
          embedded: true
          port: %d
        center:
          gateways:
            - {name: center-gw, host: 127.0.0.1, grpcPort: %d, httpPort: %d}
          gpuServers:
            - name: center-gpu
              host: 127.0.0.1
              nodePort: %d
              gpus: [{model: A100, memory: 80GiB, count: 1, reserve: 1GiB}]
        edges:
          - name: edge-a
            gateway: {host: 127.0.0.1, grpcPort: %d, httpPort: %d}
            gpuServers:
              - name: edge-a-gpu
                host: 127.0.0.1
                nodePort: %d
                gpus: [{model: V100, memory: 32GiB, count: 1, reserve: 512MiB}]
        heartbeat:
          interval: 500ms
          timeout: 3s
        """.formatted(kafka, centerGrpc, centerHttp, centerNode, edgeGrpc, edgeHttp, edgeNode));
  }
}
