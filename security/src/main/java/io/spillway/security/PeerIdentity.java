package io.spillway.security;

import java.util.Objects;

/**
 * A component proven by the certificate it presented on a mutual-TLS connection.
 *
 * <p>Certificates name their subject in a URI subject alternative name,
 * {@code spillway://<role>/<name>?pool=<pool>}, where {@code pool} is URL-encoded and present only for
 * roles that belong to a pool (a node's pool, an edge's pool). For example a node {@code gpu-3} of pool
 * {@code edge/east} is {@code spillway://node/gpu-3?pool=edge%2Feast}, and edge {@code east} is
 * {@code spillway://edge/east?pool=edge%2Feast}.
 *
 * @param role what the peer is
 * @param name its name: a node's id, an edge's {@code spillway.edge.name} (the lease holder's name in the
 *     lease log), a center's name, an agent's machine name
 * @param pool its pool, or empty
 */
public record PeerIdentity(Role role, String name, String pool) {

  public PeerIdentity {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(pool, "pool");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("a peer identity needs a name");
    }
  }

  @Override
  public String toString() {
    return role.uriName() + " " + name + (pool.isEmpty() ? "" : " of pool " + pool);
  }
}
