package io.spillway.node.driver;

import java.util.Map;
import java.util.Optional;

/** A module loaded into one {@link DriverContext}. */
public interface LoadedModule {

  String name();

  /**
   * The kernel signatures the module declares, by function name: from PTX {@code .entry} directives, or
   * from a cubin's {@code .nv.info} sections ({@link NvInfo}: sizes and offsets, not types). A kernel
   * missing here is never launched; an image whose layouts cannot be read is refused at load.
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
