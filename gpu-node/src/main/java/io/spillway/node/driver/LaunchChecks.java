package io.spillway.node.driver;

import java.util.List;

/** Checks both drivers make before a launch reaches the device. */
final class LaunchChecks {

  private LaunchChecks() {}

  /** The module's signature for {@code function}, or INVALID naming the module and the function. */
  static KernelSignature declared(LoadedModule module, String function) throws DriverException {
    KernelSignature sig = module.signatures().get(function);
    if (sig == null) {
      throw new DriverException(DriverException.Kind.INVALID, "launch: module " + module.name()
          + " declares no function " + function + " (it declares " + module.signatures().keySet() + ")");
    }
    return sig;
  }

  /**
   * INVALID unless {@code args} match the declared parameters in number and kind. A wrong count would
   * make the CUDA driver read past the parameter array, so this is checked even though the session
   * layer checks too.
   */
  static void arguments(LoadedModule module, KernelSignature sig, List<KernelArgument> args)
      throws DriverException {
    List<KernelSignature.ParamType> params = sig.params();
    if (args.size() != params.size()) {
      throw new DriverException(DriverException.Kind.INVALID, "launch of " + module.name() + "/"
          + sig.function() + ": expected " + params.size() + " arguments " + params + ", got "
          + args.size());
    }
    for (int i = 0; i < params.size(); i++) {
      if (!params.get(i).accepts(args.get(i))) {
        throw new DriverException(DriverException.Kind.INVALID, "launch of " + module.name() + "/"
            + sig.function() + ": argument " + i + " is " + args.get(i).typeName()
            + ", parameter is " + params.get(i));
      }
    }
  }
}
