package io.spillway.node.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.kernels.SpillwayKernels;
import io.spillway.node.driver.DriverContext.Dim3;
import io.spillway.node.driver.DriverException.Kind;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostGpuDriverTest extends GpuDriverContract {

  private static final long MIB = 1 << 20;

  @Override
  protected GpuDriver newDriver() {
    return HostGpuDriver.withCards(2, "T4", MIB);
  }

  private HostGpuDriver host() {
    return (HostGpuDriver) driver;
  }

  @Test
  void outOfBoundsKernelFaultsAndPoisonsOnlyItsContext() throws Exception {
    try (DriverContext bad = driver.createContext(0); DriverContext good = driver.createContext(0)) {
      LoadedModule m = loadKernels(bad);
      long p = bad.allocate(4 * 100);
      long next = upload(bad, filled(100, 5f));
      DriverException fault = assertThrows(DriverException.class, () -> bad.launch(m,
          SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(256, 1, 1), 0,
          List.of(ptr(p), new KernelArgument.F32(1f), i32(200))));
      assertEquals(Kind.KERNEL_FAULT, fault.kind());
      assertTrue(fault.getMessage().startsWith(String.format(
          "kernel fill_f32: access out of bounds of allocation at 0x%x", p)), fault.getMessage());
      assertTrue(fault.getMessage().contains("4 bytes at offset 400"), fault.getMessage());
      assertTrue(fault.getMessage().contains("st.global.f32"), fault.getMessage());

      for (DriverException later : List.of(
          assertThrows(DriverException.class, bad::synchronize),
          assertThrows(DriverException.class, () -> download(bad, next, 100)),
          assertThrows(DriverException.class, () -> bad.allocate(16)))) {
        assertEquals(Kind.KERNEL_FAULT, later.kind());
        assertTrue(later.getMessage().contains("context poisoned by earlier fault in kernel fill_f32"),
            later.getMessage());
      }

      LoadedModule gm = loadKernels(good);
      long q = upload(good, filled(64, 0f));
      good.launch(gm, SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(64, 1, 1), 0,
          List.of(ptr(q), new KernelArgument.F32(2f), i32(64)));
      good.synchronize();
      assertArrayEquals(filled(64, 2f), download(good, q, 64));
    }
  }

  @Test
  void kernelViewsEndWithTheirAllocation() throws Exception {
    HostMemory memory = new HostMemory();
    memory.add(0x1000, 64);
    memory.add(0x1040, 64);
    assertEquals(0x1000, memory.find(0x1000 + 60, 4).base());
    assertEquals(null, memory.find(0x1000 + 60, 8), "an access running past the end is not resolved");
    assertTrue(memory.describe(0x1000 + 60, 8).contains("allocation at 0x1000 (64 bytes)"));
    assertEquals(0x1040, memory.find(0x1040, 4).base(), "the adjacent allocation is its own");
    assertEquals(null, memory.find(0x2000, 4), "unallocated");
    assertEquals(null, memory.find(0xfff, 1), "below every allocation");
  }

  @Test
  void pointerIntoAnotherContextFaults() throws Exception {
    try (DriverContext a = driver.createContext(0); DriverContext b = driver.createContext(0)) {
      long inA = upload(a, filled(16, 4f));
      DriverException read = assertThrows(DriverException.class, () -> download(b, inA, 16));
      assertEquals(Kind.INVALID, read.kind());
      assertTrue(read.getMessage().contains(String.format("0x%x", inA)), read.getMessage());

      LoadedModule m = loadKernels(b);
      DriverException fault = assertThrows(DriverException.class, () -> b.launch(m,
          SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(16, 1, 1), 0,
          List.of(ptr(inA), new KernelArgument.F32(0f), i32(16))));
      assertEquals(Kind.KERNEL_FAULT, fault.kind());
      assertTrue(fault.getMessage().contains("not inside any allocation of this context"),
          fault.getMessage());
      assertArrayEquals(filled(16, 4f), download(a, inA, 16));
    }
  }

  @Test
  void anyKernelRunsAndAnUnsupportedInstructionIsRefusedAtLoad() throws Exception {
    String foreign = """
        .version 8.0
        .target sm_90
        .address_size 64
        .visible .entry fill_f32(.param .u64 p, .param .u32 wrong_type, .param .u32 n)
        {
          .reg .b32 %r<3>;
          .reg .b64 %rd<2>;
          ld.param.u64 %rd1, [p];
          ld.param.u32 %r1, [wrong_type];
          mov.u32 %r2, %tid.x;
          add.s32 %r1, %r1, %r2;
          mul.wide.u32 %rd0, %r2, 4;
          add.s64 %rd1, %rd1, %rd0;
          st.global.u32 [%rd1], %r1;
          ret;
        }
        """;
    String unsupported = """
        .version 8.0
        .target sm_90
        .address_size 64
        .visible .entry mystery(.param .u64 mystery_param_0)
        {
          .reg .b32 %r<3>;
          mov.u32 %r1, 7;
          mul24.lo.s32 %r2, %r1, %r1;
          ret;
        }
        """;
    try (DriverContext ctx = driver.createContext(0)) {
      LoadedModule m = ctx.loadModule(foreign.getBytes(StandardCharsets.US_ASCII), "extra.ptx");
      long p = ctx.allocate(16);
      ctx.launch(m, SpillwayKernels.FILL_F32, new Dim3(1, 1, 1), new Dim3(4, 1, 1), 0,
          List.of(ptr(p), i32(40), i32(4)));
      ByteBuffer got = ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      ctx.read(p, got);
      assertEquals(List.of(40, 41, 42, 43), List.of(got.getInt(0), got.getInt(4), got.getInt(8),
          got.getInt(12)), "a kernel of the library's name but another signature runs as written");

      DriverException e = assertThrows(DriverException.class,
          () -> ctx.loadModule(unsupported.getBytes(StandardCharsets.US_ASCII), "mystery.ptx"));
      assertEquals(Kind.UNIMPLEMENTED, e.kind());
      assertTrue(e.getMessage().contains("mystery.ptx: PTX line 8: kernel mystery: instruction"
          + " 'mul24.lo.s32' is not supported"), e.getMessage());
      ctx.synchronize();
    }
  }

  @Test
  void allocationsOver2GiBAreRefusedWithoutTouchingTheAccount() throws Exception {
    try (HostGpuDriver big = HostGpuDriver.withCards(1, "H200", 8L << 30);
        DriverContext ctx = big.createContext(0)) {
      DriverException e = assertThrows(DriverException.class, () -> ctx.allocate(3L << 30));
      assertEquals(Kind.OUT_OF_MEMORY, e.kind());
      assertTrue(e.getMessage().contains("caps single allocations at 2 GiB"), e.getMessage());
      assertEquals(0, big.usedBytes(0));
    }
  }

  @Test
  void accountingFollowsAllocateFreeAndClose() throws Exception {
    DriverContext a = driver.createContext(0);
    DriverContext onOtherDevice = driver.createContext(1);
    long p = a.allocate(1000);
    a.allocate(24);
    onOtherDevice.allocate(4096);
    assertEquals(1024, host().usedBytes(0));
    assertEquals(4096, host().usedBytes(1));
    a.free(p);
    assertEquals(24, host().usedBytes(0));
    a.close();
    assertEquals(0, host().usedBytes(0));
    DriverException closed = assertThrows(DriverException.class, () -> a.allocate(1));
    assertEquals(Kind.INVALID, closed.kind());
    driver.close();
    assertEquals(0, host().usedBytes(1), "closing the driver closes its contexts");
  }

  @Test
  void addressesAreAlignedAndNeverReused() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      long a = ctx.allocate(3);
      ctx.free(a);
      long b = ctx.allocate(3);
      assertTrue(b > a, "fresh address after free");
      assertEquals(0, a % 256);
      assertEquals(0, b % 256);
      DriverException over = assertThrows(DriverException.class,
          () -> ctx.write(b + 1, ByteBuffer.allocate(3)));
      assertEquals(Kind.INVALID, over.kind());
      assertTrue(over.getMessage().contains("overruns the allocation"), over.getMessage());
    }
  }

  @Test
  void cubinImagesAreRefused() throws Exception {
    try (DriverContext ctx = driver.createContext(0)) {
      byte[] elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0};
      DriverException e = assertThrows(DriverException.class, () -> ctx.loadModule(elf, "k.cubin"));
      assertEquals(Kind.INVALID, e.kind());
      assertTrue(e.getMessage().contains("PTX only"), e.getMessage());
    }
  }
}
