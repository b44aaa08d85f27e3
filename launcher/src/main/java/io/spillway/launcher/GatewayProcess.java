package io.spillway.launcher;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** How to start a gateway (one of the Quarkus apps) as its own process. */
public final class GatewayProcess {
  private GatewayProcess() {}

  /** The edge gateway's command line; see {@link #command(String, List)}. */
  public static List<String> command(List<String> properties) {
    return command("edge-gateway", properties);
  }

  /**
   * The command line for {@code MODULE/target/quarkus-app/quarkus-run.jar}, found under the directory
   * the {@code spillway} script passes as {@code -Dspillway.home}.
   *
   * @param properties {@code -Dkey=value} settings, see docs/configuration.md
   */
  public static List<String> command(String module, List<String> properties) {
    String home = System.getProperty("spillway.home", ".");
    Path jar = Path.of(home, module, "target", "quarkus-app", "quarkus-run.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(module + " is not built: " + jar.toAbsolutePath()
          + " is missing; run ./mvnw -B install -DskipTests (./bin/spillway does it for you)");
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.addAll(properties);
    cmd.add("-jar");
    cmd.add(jar.toString());
    return cmd;
  }
}
