package io.spillway.node.driver;

import java.util.Map;
import java.util.Optional;

/** A module loaded into one {@link DriverContext}. */
public interface LoadedModule {

  String name();

  /**
   * The kernel signatures the module declares, by function name, when they can be read from the image
   * (PTX {@code .entry} directives). Empty for images whose signatures cannot be read (cubin): then
   * arguments are passed unchecked to the driver.
   */
  Map<String, KernelSignature> signatures();

  default Optional<KernelSignature> signature(String function) {
    return Optional.ofNullable(signatures().get(function));
  }
}
