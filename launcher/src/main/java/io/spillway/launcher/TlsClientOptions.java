package io.spillway.launcher;

import io.spillway.client.SpillwayClient;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The TLS options of a command that connects to a gateway as a client ({@code agent}, {@code run}). */
final class TlsClientOptions {

  @Option(names = "--tls-ca", paramLabel = "<path>",
      description = "PEM certificates of the CA that signed the gateway's certificate; connects with TLS "
          + "(`spillway up` prints the CA of its run). Without it, plaintext.")
  Path ca;

  @Option(names = "--tls-cert", paramLabel = "<path>",
      description = "PEM certificate chain this machine presents to the gateway, e.g. the agent's "
          + "`spillway://agent/<machine>`; with `--tls-key` and `--tls-ca`.")
  Path cert;

  @Option(names = "--tls-key", paramLabel = "<path>",
      description = "PEM private key of `--tls-cert` (PKCS#8, EC or RSA).")
  Path key;

  /**
   * The client of {@code gateway} these options ask for.
   *
   * @throws IllegalArgumentException naming the option when they do not go together or a file is unusable
   */
  SpillwayClient client(String gateway) {
    SpillwayClient.Builder b = SpillwayClient.builder(gateway);
    if ((cert == null) != (key == null)) {
      throw new IllegalArgumentException("--tls-cert and --tls-key go together; only "
          + (cert == null ? "--tls-key" : "--tls-cert") + " is given");
    }
    if (cert != null && ca == null) {
      throw new IllegalArgumentException("--tls-cert needs --tls-ca (the CA that signed the gateway's certificate)");
    }
    if (ca != null) {
      b.trustedCa(ca);
      if (cert != null) {
        b.clientCertificate(cert, key);
      }
    }
    return b.build();
  }
}
