package io.spillway.client;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * One session on a slice of the pool: device memory, modules and kernel launches, as in a CUDA context.
 *
 * <h2>What blocks</h2>
 * <ul>
 *   <li><b>Pipelined</b>: {@code alloc}, {@code free}, {@code write}, {@code upload}, {@code fill},
 *       {@code loadModule}, {@code launch}, {@code copy}, {@code memset}, {@code launchRaw},
 *       {@code record}, {@code free(GpuEvent)}, {@code forbidReplay}; {@code createEvent} sends nothing. They never wait for the server: each appends an operation to
 *       the current batch and returns. Handles are chosen here, so a buffer or module can be used at once.
 *       A batch is sent as one frame when a synchronizing call is made, when it reaches 256 operations or
 *       1 MiB, or on {@link #flush()}. Sending honours gRPC flow control: when the server falls behind, the
 *       call that sends waits until the transport is ready again, so memory stays bounded.</li>
 *   <li><b>Synchronizing</b>: {@code read}, {@code downloadFloats}, {@code synchronize}, {@code close},
 *       {@code global}, {@code elapsedMillis}.
 *       They send the batch and wait for the server's answer, which comes after every earlier operation
 *       has run. {@code N} launches and one synchronize cost about one round trip.</li>
 * </ul>
 *
 * <h2>When errors surface</h2>
 * Arguments are checked here first ({@link IllegalArgumentException}: a range past a buffer's end or of
 * 0 bytes, a device index the session does not have, a block of more than 1024 threads); calls after
 * {@link #close()} throw {@link IllegalStateException}. The server reports a failed pipelined operation later; the SDK throws
 * it as a {@link SpillwayException} from the next synchronizing call, the earliest failure first and the
 * others attached as suppressed, as CUDA reports errors at the next synchronization. The session goes on
 * afterwards. Once the session itself has failed (stream broken, fatal error, timeout, interrupt), every
 * call throws, with the session's status code (for example {@code UNAVAILABLE}).
 *
 * <h2>Threads</h2>
 * A session is used by one thread at a time; callers that share one must serialize their calls. Replies
 * are handled on gRPC's threads and handed to the waiting caller. Interrupting a thread blocked in a call
 * cancels the session.
 *
 * <h2>Data</h2>
 * Writes copy the caller's data before they return, so the caller may reuse its arrays at once. Device
 * memory is little-endian: float arrays travel as IEEE 754 little-endian bytes.
 */
public interface GpuSession extends AutoCloseable {

  /** The id the server gave the session, for logs and support. */
  String sessionId();

  /** The session's GPUs, indexed by {@link DeviceInfo#index()}; updated when a gateway moves the session. */
  List<DeviceInfo> devices();

  /** Allocates {@code bytes} on device 0. Pipelined. */
  DeviceBuffer alloc(long bytes);

  /** Allocates {@code bytes} on the session's GPU {@code device}. Pipelined. */
  DeviceBuffer alloc(long bytes, int device);

  /**
   * Allocates a buffer written only from the host (model weights), on device 0. Gateways journal its
   * contents to rebuild the session elsewhere; a kernel must not write it. Pipelined.
   */
  DeviceBuffer allocPersistent(long bytes);

  /** {@link #allocPersistent(long)} on the session's GPU {@code device}. Pipelined. */
  DeviceBuffer allocPersistent(long bytes, int device);

  /** Copies the remaining bytes of {@code data} to {@code buffer} at {@code offset}; consumes {@code data}. Pipelined. */
  void write(DeviceBuffer buffer, long offset, ByteBuffer data);

  /** Copies {@code data} to {@code buffer} at {@code offset}. Pipelined. */
  void write(DeviceBuffer buffer, long offset, byte[] data);

  /** Copies {@code data} as little-endian floats to {@code buffer} at byte {@code offset}. Pipelined. */
  void write(DeviceBuffer buffer, long offset, float[] data);

  /** {@code write(buffer, 0, data)}. Pipelined. */
  void upload(DeviceBuffer buffer, float[] data);

  /** Sets {@code bytes} bytes of {@code buffer} from {@code offset} to {@code value} (0..255). Pipelined. */
  void fill(DeviceBuffer buffer, long offset, long bytes, int value);

  /** Reads {@code length} bytes of {@code buffer} from {@code offset}. Synchronizing. */
  byte[] read(DeviceBuffer buffer, long offset, int length);

  /** Reads {@code dst.remaining()} bytes of {@code buffer} from {@code offset} into {@code dst}. Synchronizing. */
  void read(DeviceBuffer buffer, long offset, ByteBuffer dst);

  /** Reads the first {@code count} floats of {@code buffer}. Synchronizing. */
  float[] downloadFloats(DeviceBuffer buffer, int count);

  /** Loads a PTX or cubin image; {@code name} appears in logs and errors. Pipelined. */
  Module loadModule(byte[] image, String name);

  /** Launches {@code function} of {@code module} on device 0 without dynamic shared memory. Pipelined. */
  void launch(Module module, String function, Dim3 grid, Dim3 block, KernelArg... args);

  /** Launches {@code function} of {@code module} on device 0. Pipelined. */
  void launch(Module module, String function, Dim3 grid, Dim3 block, int sharedMemBytes, KernelArg... args);

  /** Launches {@code function} of {@code module} on the session's GPU {@code device}. Pipelined. */
  void launchOnDevice(int device, Module module, String function, Dim3 grid, Dim3 block, int sharedMemBytes,
            KernelArg... args);

  /** Frees a buffer, or unbinds a handle from {@link #global}. Pipelined. */
  void free(DeviceBuffer buffer);

  /**
   * Copies {@code bytes} from {@code src} at {@code srcOffset} to {@code dst} at {@code dstOffset}, on the
   * device; both buffers on the same GPU. The ranges may overlap. Pipelined.
   */
  void copy(DeviceBuffer dst, long dstOffset, DeviceBuffer src, long srcOffset, long bytes);

  /**
   * Sets {@code count} elements of {@code width} bytes (1, 2 or 4) from {@code offset} to the low
   * {@code width} bytes of {@code value}, little-endian; {@code offset} must be a multiple of
   * {@code width}. Pipelined.
   */
  void memset(DeviceBuffer buffer, long offset, int width, int value, long count);

  /**
   * Launches {@code function} of {@code module} on device 0 with its parameter buffer as raw bytes, laid
   * out as the kernel's PTX {@code .param} list declares; {@code pointers} say where device pointers go
   * (the node fills them in). The node checks the buffer's size and each slot against the layout.
   * {@code params} is copied. Pipelined.
   */
  void launchRaw(Module module, String function, Dim3 grid, Dim3 block, int sharedMemBytes, byte[] params,
      List<PointerSlot> pointers);

  /**
   * A handle on the module-scope {@code .global} or {@code .const} variable {@code name} of
   * {@code module} on device 0, sized as the variable; it can be read, written, filled, copied and
   * pointed to, and {@link #free(DeviceBuffer)} only unbinds it. Synchronizing: one round trip;
   * {@code NOT_FOUND} if the module has no such variable.
   */
  DeviceBuffer global(Module module, String name);

  /** A new event of this session. Sends nothing. */
  GpuEvent createEvent();

  /** Records {@code event} after every earlier operation; recording it again moves it. Pipelined. */
  void record(GpuEvent event);

  /**
   * Milliseconds between two recorded events. Synchronizing: one round trip. {@code ABORTED} if one was
   * recorded before a gateway moved the session to another GPU (times on two GPUs do not compare).
   */
  float elapsedMillis(GpuEvent start, GpuEvent end);

  /** Forgets an event. Pipelined. */
  void free(GpuEvent event);

  /**
   * Says the session's state cannot be rebuilt on another GPU, for example because a device address was
   * written into device memory (nodes translate pointers only in kernel arguments). A gateway then stops
   * journaling the session: if its GPU is lost it fails with {@code FAILED_PRECONDITION} rather than move.
   * Pipelined.
   */
  void forbidReplay(String reason);

  /** Sends the current batch now, without waiting for any answer. */
  void flush();

  /** Waits until every earlier operation has run, then throws the first error reported since the last synchronizing call. */
  void synchronize();

  /**
   * Ends the session: the server frees everything it holds. Waits (bounded) for the server to confirm and
   * throws, like {@link #synchronize()}, the errors of operations not yet reported, or the session's
   * failure if no call has reported it yet. Idempotent.
   */
  @Override
  void close();
}
