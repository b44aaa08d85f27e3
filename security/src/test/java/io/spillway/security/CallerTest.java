package io.spillway.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Context;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CallerTest {

  @Test
  void readsWhatTheInterceptorsPutInTheContext() throws Exception {
    PeerIdentity edge = new PeerIdentity(Role.EDGE, "east", "edge/east");
    TenantPrincipal tenant = new TenantPrincipal("vision", "svc-vision", Instant.EPOCH, Optional.empty());
    Caller seen = Context.current().withValue(Caller.PEER, edge).withValue(Caller.TENANT, tenant)
        .call(Caller::current);
    assertEquals(new Caller(Optional.of(edge), Optional.of(tenant)), seen);
    assertEquals(Caller.ANONYMOUS, Caller.current());
  }

  @Test
  void aPeerNeedsAName() {
    assertThrows(IllegalArgumentException.class, () -> new PeerIdentity(Role.NODE, "", "p"));
    assertEquals("node gpu-3 of pool edge/east", new PeerIdentity(Role.NODE, "gpu-3", "edge/east").toString());
  }
}
