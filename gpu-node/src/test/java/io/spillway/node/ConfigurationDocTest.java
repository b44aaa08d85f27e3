package io.spillway.node;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** docs/configuration.md documents every option the node declares. */
class ConfigurationDocTest {

  @Test
  void everyNodeOptionIsDocumented() throws Exception {
    String doc = Files.readString(Path.of("..", "docs", "configuration.md"));
    for (OptionSpec option : new CommandLine(new NodeMain()).getCommandSpec().options()) {
      String name = option.longestName();
      if (name.equals("--help") || name.equals("--version")) {
        continue;
      }
      assertTrue(doc.contains("| `" + name + "` |"), "docs/configuration.md does not document " + name);
    }
  }
}
