package io.spillway.config.reference;

import io.spillway.launcher.SpillwayCommand;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Generates docs/configuration.md from the declarations: the prose of {@code configuration-template.md}
 * (this module's resources) with each directive line replaced by a table.
 *
 * <ul>
 *   <li>{@code {{keys CLASS}}}: the keys of the {@code @ConfigMapping} interface CLASS ({@link MappingRows}).
 *   <li>{@code {{options COMMAND}}}: the options of the {@code spillway COMMAND} subcommand
 *       ({@link OptionRows}).
 * </ul>
 *
 * <p>{@code ConfigurationPageTest} fails when the committed page differs from what this renders.
 */
public final class ConfigurationPage {

  /** What regenerates the page; the staleness test names it. */
  public static final String REGENERATE = "./mvnw -o -B -q -pl config-reference -am test "
      + "-Dtest=ConfigurationPageTest -Dsurefire.failIfNoSpecifiedTests=false -Dspillway.config.write=true";

  private static final Pattern DIRECTIVE = Pattern.compile("^\\{\\{(keys|options) ([\\w.$-]+)}}$");

  private ConfigurationPage() {}

  /** Writes the page to the path given (default {@code docs/configuration.md}, from the repository root). */
  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "docs/configuration.md");
    Files.writeString(out, render(), StandardCharsets.UTF_8);
    System.out.println("wrote " + out);
  }

  /** The whole page. */
  public static String render() {
    CommandLine spillway = new CommandLine(new SpillwayCommand());
    StringBuilder page = new StringBuilder();
    for (String line : template().split("\n", -1)) {
      Matcher m = DIRECTIVE.matcher(line.strip());
      if (!m.matches()) {
        page.append(line).append('\n');
        continue;
      }
      List<Row> rows = m.group(1).equals("keys") ? MappingRows.of(load(m.group(2)))
          : OptionRows.of(command(spillway, m.group(2)));
      page.append("| ").append(m.group(1).equals("keys") ? "key" : "option")
          .append(" | type | default | meaning |\n| --- | --- | --- | --- |\n");
      rows.forEach(r -> page.append(r.markdown()).append('\n'));
    }
    // The template's last line ends with a newline; splitting left an empty last element.
    return page.substring(0, page.length() - 1);
  }

  private static CommandSpec command(CommandLine spillway, String name) {
    CommandLine sub = spillway.getSubcommands().get(name);
    if (sub == null) {
      throw new IllegalArgumentException("the template names 'spillway " + name + "', which is not a command; "
          + "commands: " + spillway.getSubcommands().keySet());
    }
    return sub.getCommandSpec();
  }

  private static Class<?> load(String name) {
    try {
      return Class.forName(name, false, ConfigurationPage.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalArgumentException("the template names " + name + ", which is not on the class path "
          + "of config-reference (add its module to config-reference/pom.xml)", e);
    }
  }

  private static String template() {
    try (InputStream in = ConfigurationPage.class.getResourceAsStream("/configuration-template.md")) {
      if (in == null) {
        throw new IllegalStateException("configuration-template.md is missing from config-reference's resources");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
