package io.spillway.security;

/** What a component is, as its certificate says. */
public enum Role {
  /** A GPU node: serves sessions on its cards and registers with a gateway of its pool. */
  NODE,
  /** An edge gateway: serves its site's clients and spills onto a center under leases. */
  EDGE,
  /** A center gateway: serves sessions that edges open under their leases. */
  CENTER,
  /** A machine's agent: serves the CUDA shims of its processes and vouches for their tenants. */
  AGENT,
  /** A tenant's own client, holding a client certificate instead of (or beside) a token. */
  CLIENT;

  /** The lower-case name used in certificate URIs, for example {@code node}. */
  public String uriName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
