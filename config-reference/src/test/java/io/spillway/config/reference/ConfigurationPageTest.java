package io.spillway.config.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.spillway.config.Doc;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConfigurationPageTest {

  private static final Path PAGE = Path.of("..", "docs", "configuration.md");

  /** The committed page is what the declarations generate; with -Dspillway.config.write=true it is rewritten. */
  @Test
  void theCommittedPageIsWhatTheDeclarationsGenerate() throws Exception {
    String generated = ConfigurationPage.render();
    if (Boolean.getBoolean("spillway.config.write")) {
      Files.writeString(PAGE, generated, StandardCharsets.UTF_8);
      return;
    }
    String committed = Files.readString(PAGE, StandardCharsets.UTF_8);
    if (!committed.equals(generated)) {
      String[] a = committed.split("\n", -1);
      String[] b = generated.split("\n", -1);
      int line = 0;
      while (line < a.length && line < b.length && a[line].equals(b[line])) {
        line++;
      }
      fail("docs/configuration.md is stale: it is generated from the declarations (@Doc on @ConfigMapping keys, "
          + "picocli option descriptions) and config-reference's configuration-template.md. First difference at "
          + "line " + (line + 1) + ":\n  committed: " + (line < a.length ? a[line] : "(end)")
          + "\n  generated: " + (line < b.length ? b[line] : "(end)") + "\nRegenerate it with:\n  "
          + ConfigurationPage.REGENERATE);
    }
  }

  @ConfigMapping(prefix = "x")
  interface Sample {
    @Doc("How long.")
    @WithDefault("3s")
    Duration maxWait();

    @Doc(value = "Where.", type = "host:port", defaultText = "the first one")
    Optional<String> center();

    @Doc(mapKey = "tenant")
    Map<String, Quota> tenants();

    Nested nested();

    interface Quota {
      @Doc("Sessions at once.")
      @WithDefault("0")
      int maxSessions();
    }

    interface Nested {
      @Doc("Names.")
      Optional<List<String>> peers();
    }
  }

  @Test
  void keysAreDerivedAsSmallRyeDerivesThemWithDefaultsAndTypes() {
    List<Row> rows = MappingRows.of(Sample.class);
    assertEquals(List.of(
        new Row("x.center", "host:port", "the first one", "Where."),
        new Row("x.max-wait", "duration", "`3s`", "How long."),
        new Row("x.nested.peers", "text,...", "none", "Names."),
        new Row("x.tenants.\"<tenant>\".max-sessions", "count", "`0`", "Sessions at once.")), rows);
  }

  @ConfigMapping(prefix = "y")
  interface Undocumented {
    @WithDefault("1")
    int count();
  }

  @Test
  void aKeyWithoutDocumentationIsRefusedByName() {
    var e = assertThrows(IllegalStateException.class, () -> MappingRows.of(Undocumented.class));
    assertTrue(e.getMessage().contains("key y.count"), e.getMessage());
  }

  @picocli.CommandLine.Command(name = "sample", mixinStandardHelpOptions = true)
  static final class SampleCommand {
    @picocli.CommandLine.Option(names = "--size", paramLabel = "<size>", defaultValue = "1GiB",
        description = "How much (default: ${DEFAULT-VALUE}).")
    String size;

    @picocli.CommandLine.Option(names = "--peer", description = "A peer (default: the first `one`).")
    List<String> peers;

    @picocli.CommandLine.Option(names = "--mode", paramLabel = "a|b", description = "The mode.")
    String mode;

    @picocli.CommandLine.Option(names = "--quiet", description = "Say less.")
    boolean quiet;
  }

  @Test
  void optionsAreReadFromTheCommandModel() {
    var spec = new picocli.CommandLine(new SampleCommand()).getCommandSpec();
    assertEquals(List.of(
        new Row("--size", "size", "`1GiB`", "How much."),
        new Row("--peer", "text, repeatable", "the first `one`", "A peer."),
        new Row("--mode", "`a`, `b`", "none", "The mode."),
        new Row("--quiet", "flag", "off", "Say less.")), OptionRows.of(spec));
  }
}
