package io.spillway.config.reference;

import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * The rows of a picocli command, read from its {@link CommandSpec}: one row an option, in the order the
 * command declares them (help and version left out). The description is the meaning; a closing
 * {@code (default: ...)} in it is the default cell ({@code ${DEFAULT-VALUE}} stands for the declared
 * {@code defaultValue}); an explicit {@code paramLabel} is the type ({@code <size>} shows as size,
 * {@code a|b} as the choices), else the type is derived from the field's Java type.
 */
final class OptionRows {

  private static final Pattern DEFAULT = Pattern.compile("\\s*\\(default: (.*)\\)\\.?\\s*$");

  private OptionRows() {}

  static List<Row> of(CommandSpec command) {
    List<Row> rows = new ArrayList<>();
    for (OptionSpec option : command.options()) {
      if (option.usageHelp() || option.versionHelp() || option.hidden()) {
        continue;
      }
      rows.add(row(command, option));
    }
    return rows;
  }

  private static Row row(CommandSpec command, OptionSpec option) {
    String description = String.join(" ", option.description()).strip();
    if (description.isEmpty()) {
      throw new IllegalStateException("option " + option.longestName() + " of '" + command.qualifiedName()
          + "' has no description; every option is documented where it is declared");
    }
    String defaultCell;
    Matcher m = DEFAULT.matcher(description);
    if (m.find()) {
      // description() has ${DEFAULT-VALUE} already replaced by the declared default.
      String stated = m.group(1).strip();
      boolean declared = stated.equals("${DEFAULT-VALUE}") || stated.equals(option.defaultValue());
      defaultCell = declared ? "`" + option.defaultValue() + "`" : stated;
      description = description.substring(0, m.start()) + (description.endsWith(".") ? "." : "");
    } else if (option.defaultValue() != null) {
      defaultCell = "`" + option.defaultValue() + "`";
    } else {
      defaultCell = option.arity().max() == 0 ? "off" : "none";
    }
    description = description.replace("${DEFAULT-VALUE}", String.valueOf(option.defaultValue()));
    return new Row(option.longestName(), type(option), defaultCell, description);
  }

  private static String type(OptionSpec option) {
    if (option.arity().max() == 0) {
      return "flag";
    }
    String label = explicitLabel(option);
    String type = label != null ? label(label) : derived(option);
    return option.isMultiValue() ? type + ", repeatable" : type;
  }

  private static String explicitLabel(OptionSpec option) {
    if (option.userObject() instanceof AnnotatedElement element) {
      Option annotation = element.getAnnotation(Option.class);
      if (annotation != null && !annotation.paramLabel().isEmpty()) {
        return annotation.paramLabel();
      }
    }
    return null;
  }

  private static String label(String label) {
    String bare = label.startsWith("<") && label.endsWith(">") ? label.substring(1, label.length() - 1) : label;
    if (bare.contains("|")) {
      return Arrays.stream(bare.split("\\|")).map(c -> "`" + c + "`").collect(Collectors.joining(", "));
    }
    return bare;
  }

  private static String derived(OptionSpec option) {
    Class<?> c = option.isMultiValue() && option.auxiliaryTypes().length > 0
        ? option.auxiliaryTypes()[0] : option.type();
    if (c == Path.class) {
      return "path";
    }
    Type t = c;
    return MappingRows.typeName(t);
  }
}
