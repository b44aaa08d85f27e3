package io.spillway.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code spillway} command's answers to good and bad topology files, without starting anything. */
class CommandLineTest {

  private static final Path PROVINCE = Path.of("..", "topology", "examples", "province.yaml");

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int exit = new CommandLine(new SpillwayCommand()).execute(args);
      return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @Test
  void validateDescribesAGoodTopology() {
    Run r = run("validate", PROVINCE.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("valid topology 'province'"), r.out());
    assertTrue(r.out().contains("center: 2 gateway(s), 16 GPUs on 2 server(s)"), r.out());
    assertTrue(r.out().contains("edge edge-east: 8 GPUs on 1 server(s), 3 app server(s), spill when-full"), r.out());
  }

  @Test
  void validateNamesEachProblemWithItsLocation(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, Files.readString(PROVINCE).replace("gpuServers:", "gpuServer:"));
    Run r = run("validate", bad.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("bad.yaml:") && r.err().contains("did you mean `gpuServers`?"), r.err());
  }

  @Test
  void upAndDemoRefuseABrokenTopologyBeforeStartingAnything(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, Files.readString(PROVINCE).replace("memory: 32GiB", "memory: -32GiB"));
    for (String command : new String[] {"up", "demo"}) {
      Run r = run(command, bad.toString());
      assertEquals(2, r.exit(), command);
      assertTrue(r.err().contains("is not a size"), command + ": " + r.err());
      assertTrue(r.out().isEmpty() || !r.out().contains("starting"), command + " started something: " + r.out());
    }
  }

  @Test
  void everySubcommandIsListed() {
    Run r = run("--help");
    for (String sub : new String[] {"demo", "up", "status", "leases", "node", "validate", "simulate"}) {
      assertTrue(r.out().contains("  " + sub + " ") || r.out().contains("  " + sub + "\n"), sub + " in " + r.out());
    }
  }
}
