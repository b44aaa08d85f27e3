package io.spillway.node.driver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
      KernelSignature.Param p = sig.layout().get(i);
      // The driver copies the declared size from the argument: a struct takes exactly its own bytes.
      if (p.type() == KernelSignature.ParamType.BYTES && args.get(i).width() != p.size()) {
        throw new DriverException(DriverException.Kind.INVALID, "launch of " + module.name() + "/"
            + sig.function() + ": argument " + i + " is " + args.get(i).typeName() + " (" + args.get(i).width()
            + " bytes), but parameter " + p.name() + " is a struct of " + p.size() + " bytes; pass it whole"
            + " with launch_raw");
      }
    }
  }

  /**
   * The parameter buffer for typed {@code args} (already checked by {@link #arguments}): each value
   * little-endian at its parameter's offset, cut to the parameter's size where the parameter is
   * narrower (an {@code OTHER} or {@code BYTES} parameter given a scalar).
   */
  static ByteBuffer pack(KernelSignature sig, List<KernelArgument> args) {
    ByteBuffer buf = ByteBuffer.allocate(sig.paramBytes()).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer value = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < args.size(); i++) {
      KernelSignature.Param p = sig.layout().get(i);
      value.clear();
      KernelArgument a = args.get(i);
      if (a instanceof KernelArgument.Pointer v) {
        value.putLong(v.address());
      } else if (a instanceof KernelArgument.I64 v) {
        value.putLong(v.value());
      } else if (a instanceof KernelArgument.I32 v) {
        value.putInt(v.value());
      } else if (a instanceof KernelArgument.F32 v) {
        value.putFloat(v.value());
      } else {
        value.putDouble(((KernelArgument.F64) a).value());
      }
      int n = Math.min(value.position(), p.size());
      buf.put(p.offset(), value.array(), 0, n);
    }
    return buf;
  }

  /** INVALID unless {@code params} holds exactly the bytes {@code sig} lays out. */
  static void rawParameters(LoadedModule module, KernelSignature sig, ByteBuffer params)
      throws DriverException {
    if (params.remaining() != sig.paramBytes()) {
      throw new DriverException(DriverException.Kind.INVALID, "launch of " + module.name() + "/"
          + sig.function() + ": parameter buffer has " + params.remaining() + " bytes, the kernel's"
          + " parameters " + sig.layout() + " take " + sig.paramBytes());
    }
  }

  /** INVALID unless {@code width} is 1, 2 or 4 and {@code count} >= 0. */
  static void memset(long address, int width, long count) throws DriverException {
    if (width != 1 && width != 2 && width != 4) {
      throw new DriverException(DriverException.Kind.INVALID, String.format(
          "memset at 0x%x: width %d is not 1, 2 or 4", address, width));
    }
    if (count < 0) {
      throw new DriverException(DriverException.Kind.INVALID, String.format(
          "memset at 0x%x: count %d is negative", address, count));
    }
  }
}
