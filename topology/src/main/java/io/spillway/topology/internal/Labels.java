package io.spillway.topology.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Parses the label of a topology enum (a GPU model, a spill mode...): case-insensitive, with did-you-mean. */
public final class Labels {
  private Labels() {
  }

  /**
   * @param what what the value is, for the message ("GPU model")
   * @throws IllegalArgumentException naming the value, the closest label and every accepted label
   */
  public static <E extends Enum<E>> E parse(E[] values, Function<E, String> label, String text, String what) {
    List<String> labels = new ArrayList<>();
    for (E value : values) {
      if (label.apply(value).equalsIgnoreCase(text.trim())) {
        return value;
      }
      labels.add(label.apply(value));
    }
    throw new IllegalArgumentException("\"" + text + "\" is not a known " + what
        + Suggestions.didYouMean(text.trim(), labels, "\"") + "; accepted: " + String.join(", ", labels));
  }
}
