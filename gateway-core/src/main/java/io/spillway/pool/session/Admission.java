package io.spillway.pool.session;

import io.grpc.Status;
import io.spillway.pool.model.SessionId;
import io.spillway.pool.placement.Placement;
import io.spillway.pool.placement.PlacementStrategy;
import io.spillway.pool.placement.Slice;
import io.spillway.pool.placement.SliceRequest;
import io.spillway.protocol.SessionProtocol;
import io.spillway.protocol.v1.ClientFrame;
import io.spillway.protocol.v1.LeaseRef;
import io.spillway.protocol.v1.Op;
import io.spillway.protocol.v1.Open;
import io.spillway.security.Caller;
import io.spillway.security.TenantPrincipal;
import io.spillway.security.token.TenantNames;
import java.time.Instant;
import java.util.List;

/**
 * Admission: a session's first frame in, a decision out. A decision to run locally holds the slices the
 * placer reserved in the session's name; the others hold nothing yet.
 */
final class Admission {
  private Admission() {}

  sealed interface Decision {}

  /** Refused: answer op {@code seq} (0: no op to answer) with {@code status} and end the stream. */
  record Refuse(long seq, Status status) implements Decision {}

  /** At a center: run on the cards of the lease the edge names, if the lease authority admits it. */
  record UnderLease(LeaseRef lease) implements Decision {}

  /** At an edge: borrow center capacity under a lease. */
  record Spill(SliceRequest request, String localRefusal) implements Decision {}

  /** On the local pool, on one server. */
  record Local(SliceRequest request, List<Slice> slices) implements Decision {}

  /** On the local pool, across several servers. */
  record Spanning(List<Slice> slices) implements Decision {}

  /**
   * The first frame with the proven tenant in its open, or the refusal. Either {@code frame} or
   * {@code refusal} is null.
   */
  record Identified(ClientFrame frame, Refuse refusal) {}

  /**
   * Settles the session's tenant before anything else sees it: from the caller's credential when it
   * proved one ({@code Open.tenant} must then be empty or the same), from the open when the gateway
   * needs no credential; in both cases a valid name ({@link TenantNames}) that the gateway's
   * {@link TenantPolicy} admits. A frame without an open passes (decide refuses it).
   */
  static Identified identify(SessionHost host, Caller caller, ClientFrame first) {
    if (first.getOpsCount() == 0 || !first.getOps(0).hasOpen()) {
      return new Identified(first, null);
    }
    Op op = first.getOps(0);
    Open open = op.getOpen();
    String what = "open (seq " + op.getSeq() + ")";
    TenantPolicy policy = host.tenantPolicy();
    String asked = open.getTenant();
    String tenant;
    if (caller.tenant().isPresent()) {
      TenantPrincipal proven = caller.tenant().get();
      if (!asked.isEmpty() && !asked.equals(proven.tenant())) {
        return refused(op, Status.PERMISSION_DENIED.withDescription(what + ": tenant " + quoted(asked)
            + " is not the tenant the credential proves (" + proven.tenant() + ", subject "
            + quoted(proven.subject()) + "); send the credential's tenant or leave tenant empty"));
      }
      Instant now = host.clock().instant();
      if (!proven.expiresAt().isAfter(now)) {
        return refused(op, Status.UNAUTHENTICATED.withDescription(what + ": token expired at "
            + proven.expiresAt()));
      }
      tenant = proven.tenant();
    } else if (policy.credentialsRequired() && !(open.hasLease() && host.leaseAuthority() != null)) {
      // At a center, sessions under a lease come from the edge that holds it, proven by its certificate.
      return refused(op, Status.UNAUTHENTICATED.withDescription(what + ": no credential proves the tenant: "
          + "gateway " + host.config().name() + " needs 'authorization: Bearer <token>' call metadata with a "
          + "tenant's token (spillway token issue --tenant NAME), an agent's token with "
          + "'spillway-on-behalf-of: <tenant>', or a client certificate"));
    } else {
      tenant = asked;
    }
    String problem = TenantNames.problem(tenant);
    if (problem != null) {
      return refused(op, Status.INVALID_ARGUMENT.withDescription(what + ": " + problem));
    }
    if (!policy.admits(tenant)) {
      return refused(op, Status.PERMISSION_DENIED.withDescription(what + ": unknown tenant " + tenant
          + ": gateway " + host.config().name() + " is configured with no such tenant"));
    }
    if (tenant.equals(asked)) {
      return new Identified(first, null);
    }
    ClientFrame.Builder b = first.toBuilder();
    b.setOps(0, op.toBuilder().setOpen(open.toBuilder().setTenant(tenant)));
    return new Identified(b.build(), null);
  }

  private static Identified refused(Op op, Status status) {
    return new Identified(null, new Refuse(op.getSeq(), status));
  }

  private static String quoted(String s) {
    return TenantNames.quoted(s);
  }

  static Decision decide(SessionHost host, SessionId id, ClientFrame first) {
    if (first.getOpsCount() == 0 || !first.getOps(0).hasOpen()) {
      return new Refuse(0, Status.INVALID_ARGUMENT.withDescription(
          "the first frame of a session must start with an open op"));
    }
    Op op = first.getOps(0);
    Open open = op.getOpen();
    String what = "open (seq " + op.getSeq() + ")";
    Status badVersion = SessionProtocol.unsupportedVersion(what, open, "gateway " + host.config().name());
    if (badVersion != null) {
      return new Refuse(op.getSeq(), badVersion);
    }
    if (open.hasLease()) {
      if (host.leaseAuthority() == null) {
        return new Refuse(op.getSeq(), Status.FAILED_PRECONDITION.withDescription(what + ": gateway "
            + host.config().name() + " does not lend capacity under leases"));
      }
      return new UnderLease(open.getLease());
    }
    if (host.leaseAuthority() != null && host.leaseAuthority().leasesOnly()) {
      return new Refuse(op.getSeq(), Status.PERMISSION_DENIED.withDescription(what + ": gateway "
          + host.config().name() + " runs sessions only under a lease of its lease log, and the open names"
          + " none (open.lease is not set)"));
    }
    SliceRequest asked;
    try {
      asked = request(open);
    } catch (IllegalArgumentException e) {
      return new Refuse(op.getSeq(), Status.INVALID_ARGUMENT.withDescription(what + ": " + e.getMessage()));
    }
    SpillTarget spill = host.spillTarget();
    if (spill != null && spill.spillFirst(host.placer().snapshot())) {
      return new Spill(asked, "local pool above its spill threshold");
    }
    Placement placement = host.placer().place(id, asked);
    if (placement instanceof Placement.Rejected rejected) {
      String local = rejected.message() + " (pool " + host.config().pool() + ")";
      if (spill != null && rejected.reason() != Placement.Reason.QUOTA_EXCEEDED
          && rejected.reason() != Placement.Reason.DUPLICATE_SESSION) {
        return new Spill(asked, local);
      }
      return new Refuse(op.getSeq(), PlacementStatus.of(rejected).withDescription(what + ": " + local));
    }
    List<Slice> placed = ((Placement.Placed) placement).slices();
    String nodeId = placed.get(0).nodeId();
    if (placed.stream().anyMatch(s -> !s.nodeId().equals(nodeId))) {
      return new Spanning(placed);
    }
    return new Local(asked, placed);
  }

  /**
   * Places a rebuilt or returning session on one server of the local pool (it cannot span servers):
   * the slices, reserved in the session's name, or null with {@code refusal} saying why not.
   */
  record OneServer(List<Slice> slices, String refusal) {}

  static OneServer placeOnOneServer(SessionHost host, SessionId id, SliceRequest asked) {
    Placement p = host.placer().place(id, asked);
    if (p instanceof Placement.Rejected rejected) {
      return new OneServer(null, rejected.message());
    }
    List<Slice> placed = ((Placement.Placed) p).slices();
    if (placed.stream().map(Slice::nodeId).distinct().count() != 1) {
      host.placer().release(id);
      return new OneServer(null, "the local pool can only place it across servers");
    }
    return new OneServer(placed, null);
  }

  static SliceRequest request(Open open) {
    io.spillway.protocol.v1.SliceRequest s = open.getSlice();
    if (open.getTenant().isBlank()) {
      throw new IllegalArgumentException("tenant is empty");
    }
    SliceRequest.Builder b = SliceRequest.builder(open.getTenant())
        .gpus(Math.max(1, s.getGpuCount()))
        .computePercent(s.getComputePercent())
        .models(s.getModelsList().toArray(String[]::new))
        .excludeModels(s.getExcludeModelsList().toArray(String[]::new))
        .strategy(s.getPlacement() == io.spillway.protocol.v1.Placement.PLACEMENT_SPREAD
            ? PlacementStrategy.SPREAD : PlacementStrategy.BINPACK)
        .sameNode(true);
    switch (s.getMemoryCase()) {
      case MEMORY_BYTES -> b.memoryBytes(s.getMemoryBytes());
      case MEMORY_PERCENT -> b.memoryPercent(s.getMemoryPercent());
      case MEMORY_NOT_SET -> throw new IllegalArgumentException(
          "slice.memory is not set; give memory_bytes or memory_percent");
    }
    return b.build();
  }

  // ---- rewriting the open for the upstream

  /** The first frame with its open pinned to {@code placed}'s cards, without a lease. */
  static ClientFrame pinned(ClientFrame parsed, List<Slice> placed) {
    Op first = parsed.getOps(0);
    Open open = first.getOpen();
    io.spillway.protocol.v1.SliceRequest.Builder pinned = open.getSlice().toBuilder()
        .clearModels().clearExcludeModels().clearGpuUuids()
        .setGpuCount(placed.size()).setMemoryBytes(placed.get(0).memoryBytes())
        .setComputePercent(placed.get(0).computePercent());
    placed.forEach(s -> pinned.addGpuUuids(s.gpuUuid()));
    ClientFrame.Builder rewritten = parsed.toBuilder();
    rewritten.setOps(0, first.toBuilder().setOpen(open.toBuilder().clearLease().setSlice(pinned)));
    return rewritten.build();
  }

  /** The first frame with its open naming the lease {@code spill} borrowed. */
  static ClientFrame withLease(ClientFrame parsed, SpillTarget.Spill spill) {
    Op first = parsed.getOps(0);
    ClientFrame.Builder b = parsed.toBuilder();
    b.setOps(0, first.toBuilder().setOpen(first.getOpen().toBuilder().setLease(
        LeaseRef.newBuilder().setLeaseId(spill.leaseId()).setEpoch(spill.epoch()))));
    return b.build();
  }
}
