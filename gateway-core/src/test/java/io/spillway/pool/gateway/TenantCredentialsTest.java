package io.spillway.pool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.spillway.client.GpuSession;
import io.spillway.client.SliceRequest;
import io.spillway.client.SpillwayClient;
import io.spillway.client.SpillwayException;
import io.spillway.pool.config.GatewayConfig;
import io.spillway.pool.session.GatewayListener;
import io.spillway.pool.session.TenantPolicy;
import io.spillway.security.Caller;
import io.spillway.security.PeerIdentity;
import io.spillway.security.Role;
import io.spillway.security.token.CredentialInterceptor;
import io.spillway.security.token.KeyFiles;
import io.spillway.security.token.TokenIssuer;
import io.spillway.security.token.TokenVerifier;
import io.spillway.security.token.VerificationKeys;
import io.spillway.workload.MlpModel;
import io.spillway.workload.MlpService;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tenants proven by credentials, over real gRPC on loopback: every attempt to open as someone else is
 * refused with the status that says why, while a well-behaved tenant's session on the same gateway goes
 * on computing correct results.
 */
class TenantCredentialsTest {
  private static final long GIB = 1L << 30;
  /** Stands in for the TLS interceptor: a call naming this header "connected with" that client certificate. */
  private static final Metadata.Key<String> TEST_CLIENT_CERT =
      Metadata.Key.of("x-test-client-cert", Metadata.ASCII_STRING_MARSHALLER);

  @TempDir
  Path dir;

  private final ConcurrentLinkedQueue<String> refusedTenants = new ConcurrentLinkedQueue<>();

  private TestPool pool(KeyPair key, TenantPolicy policy) throws Exception {
    KeyFiles.write(key, dir);
    TokenVerifier verifier = new TokenVerifier(VerificationKeys.fromFile(dir.resolve("jwks.json")), "spillway",
        "spillway", Duration.ofSeconds(5), Clock.systemUTC());
    ServerInterceptor certificates = new ServerInterceptor() {
      @Override
      public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
          ServerCallHandler<Q, A> next) {
        String name = headers.get(TEST_CLIENT_CERT);
        if (name == null) {
          return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(Caller.PEER,
            new PeerIdentity(Role.CLIENT, name, "")), call, headers, next);
      }
    };
    GatewayListener listener = new GatewayListener() {
      @Override
      public void openRefused(String tenant, Status.Code code) {
        refusedTenants.add(tenant);
      }
    };
    GatewayCore core = new GatewayCore(GatewayConfig.local("edge-t", "edge/t"), Clock.systemUTC(), listener,
        List.of(certificates, new CredentialInterceptor(verifier))).tenants(policy);
    TestPool pool = new TestPool(core);
    pool.addNode("node-a", 2, "V100", 32 * GIB);
    return pool;
  }

  private static SliceRequest slice(String tenant) {
    return SliceRequest.builder().tenant(tenant).memoryBytes(GIB).build();
  }

  private static SpillwayException refused(SpillwayClient client, String tenant) {
    return assertThrows(SpillwayException.class, () -> client.open(slice(tenant)).close());
  }

  @Test
  void attemptsToOpenAsSomeoneElseAreRefusedWhileAProvenTenantComputesOn() throws Exception {
    KeyPair key = KeyFiles.generate();
    TokenIssuer issuer = new TokenIssuer(key, "spillway", "spillway", Clock.systemUTC());
    try (TestPool pool = pool(key, TenantPolicy.strict(Set.of("vision", "search")))) {
      SpillwayClient good = pool.client().token(issuer.issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(1))));
      MlpModel model = MlpModel.random(7, 32, 64, 10);
      try (GpuSession gpu = good.open(slice("vision"))) {
        MlpService service = new MlpService(gpu, model, 8);
        float[] x = model.randomInput(1, 8);
        assertTrue(MlpModel.maxAbsDiff(service.infer(x, 8), model.forwardCpu(x, 8)) < 1e-5);

        SpillwayException none = refused(pool.client(), "vision");
        assertEquals(Status.Code.UNAUTHENTICATED, none.code());
        assertTrue(none.getMessage().contains("no credential proves the tenant"), none.getMessage());
        assertTrue(none.getMessage().contains("authorization: Bearer <token>"), none.getMessage());

        TokenIssuer yesterday = new TokenIssuer(key, "spillway", "spillway",
            () -> Instant.now().minus(Duration.ofHours(25)));
        SpillwayException expired = refused(pool.client()
            .token(yesterday.issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(24)))), "vision");
        assertEquals(Status.Code.UNAUTHENTICATED, expired.code());
        assertTrue(expired.getMessage().contains("token expired at "), expired.getMessage());

        SpillwayException asOther = refused(pool.client()
            .token(issuer.issue(TokenIssuer.Claims.tenant("search", Duration.ofHours(1)))), "vision");
        assertEquals(Status.Code.PERMISSION_DENIED, asOther.code());
        assertTrue(asOther.getMessage().contains("tenant 'vision' is not the tenant the credential proves (search"),
            asOther.getMessage());

        SpillwayException unknown = refused(pool.client()
            .token(issuer.issue(TokenIssuer.Claims.tenant("mallory", Duration.ofHours(1)))), "mallory");
        assertEquals(Status.Code.PERMISSION_DENIED, unknown.code());
        assertTrue(unknown.getMessage().contains("unknown tenant mallory"), unknown.getMessage());

        SpillwayException forged = refused(pool.client().token(new TokenIssuer(KeyFiles.generate(), "spillway",
            "spillway", Clock.systemUTC()).issue(TokenIssuer.Claims.tenant("vision", Duration.ofHours(1)))), "vision");
        assertEquals(Status.Code.UNAUTHENTICATED, forged.code());
        assertTrue(forged.getMessage().contains("unknown key id"), forged.getMessage());

        String agentToken = issuer.issue(TokenIssuer.Claims.agent("host-1", List.of("search"), Duration.ofHours(1)));
        SpillwayException overreach = refused(pool.client().token(agentToken).onBehalfOf("vision"), "vision");
        assertEquals(Status.Code.PERMISSION_DENIED, overreach.code());
        assertTrue(overreach.getMessage().contains("may not vouch for tenant vision"), overreach.getMessage());

        SpillwayException adminAsTenant = refused(pool.client()
            .token(issuer.issue(TokenIssuer.Claims.admin("alice", Duration.ofHours(1)))), "vision");
        assertEquals(Status.Code.UNAUTHENTICATED, adminAsTenant.code());

        // Every refusal left the proven session alone: it still computes, and correctly.
        float[] y = model.randomInput(2, 8);
        assertTrue(MlpModel.maxAbsDiff(service.infer(y, 8), model.forwardCpu(y, 8)) < 1e-5);
        assertEquals(1, pool.gateway.sessions().size());
        assertEquals("vision", pool.gateway.sessions().get(0).tenant());
      }
      assertFalse(refusedTenants.contains("mallory"), "an unknown tenant grows no metric series: " + refusedTenants);
    }
  }

  @Test
  void anAgentVouchesForItsTenantAndAClientCertificateProvesOne() throws Exception {
    KeyPair key = KeyFiles.generate();
    TokenIssuer issuer = new TokenIssuer(key, "spillway", "spillway", Clock.systemUTC());
    try (TestPool pool = pool(key, TenantPolicy.strict(Set.of("vision", "search")))) {
      SpillwayClient agent = pool.client()
          .token(issuer.issue(TokenIssuer.Claims.agent("host-1", List.of("search"), Duration.ofHours(1))))
          .onBehalfOf("search");
      try (GpuSession gpu = agent.open(slice("search"))) {
        gpu.alloc(64);
        assertEquals("search", pool.gateway.sessions().get(0).tenant());
      }
      // An empty tenant in the open takes the credential's: the SDK always names one, so build the
      // open through a certificate, which proves "vision".
      SpillwayClient certified = SpillwayClient.forChannel(io.grpc.netty.NettyChannelBuilder
          .forTarget(pool.gateway.address()).usePlaintext()
          .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers("vision"))).build());
      try (GpuSession gpu = certified.open(slice("vision"))) {
        gpu.alloc(64);
      }
      SpillwayException wrong = refused(certified, "search");
      assertEquals(Status.Code.PERMISSION_DENIED, wrong.code());
    }
  }

  @Test
  void withCredentialsOffTenantNamesAreStillChecked() throws Exception {
    try (TestPool pool = pool(KeyFiles.generate(), TenantPolicy.open())) {
      try (GpuSession gpu = pool.client().open(slice("acme"))) {
        gpu.alloc(64);
      }
      SpillwayException bad = refused(pool.client(), "acme\"} 1\nfake_metric{a=\"");
      assertEquals(Status.Code.INVALID_ARGUMENT, bad.code());
      assertTrue(bad.getMessage().contains("is not a tenant name"), bad.getMessage());
      assertFalse(bad.getMessage().contains("\n"), bad.getMessage());
      SpillwayException tooLong = refused(pool.client(), "t".repeat(200));
      assertEquals(Status.Code.INVALID_ARGUMENT, tooLong.code());
      assertTrue(refusedTenants.stream().allMatch(String::isEmpty), "refused before naming a series: " + refusedTenants);
    }
  }

  private static Metadata headers(String certifiedTenant) {
    Metadata m = new Metadata();
    m.put(TEST_CLIENT_CERT, certifiedTenant);
    return m;
  }
}
