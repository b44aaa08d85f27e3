package io.spillway.security.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import org.junit.jupiter.api.Test;

class SpillwayUriTest {

  @Test
  void namesAndParsesEachRole() throws Exception {
    PeerIdentity node = new PeerIdentity(Role.NODE, "gpu-3", "edge/east");
    assertEquals("spillway://node/gpu-3?pool=edge%2Feast", SpillwayUri.of(node));
    assertEquals(node, SpillwayUri.parse("spillway://node/gpu-3?pool=edge%2Feast"));
    assertEquals(new PeerIdentity(Role.EDGE, "east", "edge/east"), SpillwayUri.parse("spillway://edge/east?pool=edge%2Feast"));
    assertEquals(new PeerIdentity(Role.CENTER, "center", ""), SpillwayUri.parse("spillway://center/center"));
    assertEquals(new PeerIdentity(Role.CENTER, "c-1", "center"), SpillwayUri.parse("spillway://center/c-1?pool=center"));
    assertEquals(new PeerIdentity(Role.AGENT, "worker-7.lan", ""), SpillwayUri.parse("spillway://agent/worker-7.lan"));
  }

  @Test
  void refusesAnythingElse() {
    for (String bad : new String[] {
        "https://node/gpu-3?pool=edge%2Feast",          // another scheme
        "SPILLWAY://node/gpu-3?pool=p",                 // upper-case scheme
        "spillway://Node/gpu-3?pool=p",                 // upper-case role
        "spillway://admin/root",                        // no such role
        "spillway://node/gpu-3",                        // a node names its pool
        "spillway://edge/east",                         // so does an edge
        "spillway://agent/m?pool=p",                    // an agent has none
        "spillway://node/gpu-3/x?pool=p",               // two segments
        "spillway://node/..?pool=p",                    // not a name
        "spillway://node/gpu 3?pool=p",                 // a space
        "spillway://node/gpu-3?pool=p&role=edge",       // a second parameter
        "spillway://node/gpu-3?pool=p#frag",            // a fragment
        "spillway://evil@node/gpu-3?pool=p",            // user info
        "spillway://node:1/gpu-3?pool=p",               // a port
        "spillway://node/gpu-3?pool=%2Fetc",            // a pool starting with /
        "spillway://node/gpu-3?pool=a%0Ab",             // a newline in the pool (log injection)
        "spillway://node/gpu-3?pool=%zz",               // not URL-encoding
        "spillway://node/?pool=p",                      // no name
    }) {
      SpillwayUri.InvalidUri e = assertThrows(SpillwayUri.InvalidUri.class, () -> SpillwayUri.parse(bad), bad);
      assertTrue(e.getMessage().contains(bad), e.getMessage());
    }
  }
}
