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

  /**
   * The module-scope {@code .global} and {@code .const} variables by name: their device address in this
   * context and their size. Empty when the image does not say (or has none).
   */
  default Map<String, ModuleGlobal> globals() {
    return Map.of();
  }

  default Optional<KernelSignature> signature(String function) {
    return Optional.ofNullable(signatures().get(function));
  }
}
