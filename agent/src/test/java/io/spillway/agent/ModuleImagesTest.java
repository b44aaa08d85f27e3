package io.spillway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.spillway.client.DeviceBuffer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Fatbin and PTX parsing, pointer slots and the address space, without processes. The fatbin is what
 * nvcc 13 embedded in a vector-add program built with its defaults (sm_75 SASS plus zstd-compressed
 * compute_75 PTX), taken from the image the CUDA runtime handed the shim.
 */
class ModuleImagesTest {

  static byte[] resource(String name) throws IOException {
    try (InputStream in = ModuleImagesTest.class.getResourceAsStream("/" + name)) {
      return in.readAllBytes();
    }
  }

  @Test
  void fatbinFromNvccYieldsItsZstdCompressedPtx() throws IOException {
    List<Fatbin.Entry> entries = Fatbin.parse(resource("vadd-sm75.fatbin"));
    assertEquals(2, entries.size());
    assertEquals(Fatbin.KIND_ELF, entries.get(0).kind());
    assertEquals(Fatbin.KIND_PTX, entries.get(1).kind());
    assertEquals(75, entries.get(1).arch());
    String ptx = Fatbin.ptxFor(entries, 70);
    assertTrue(ptx.contains(".entry _Z4vaddPKfS0_Pfi"), ptx);
    assertTrue(ptx.charAt(ptx.length() - 1) != 0, "trailing NULs are cut");
    KernelLayout k = PtxEntries.parse(ptx).get("_Z4vaddPKfS0_Pfi");
    assertEquals(List.of(0, 8, 16, 24), k.params().stream().map(KernelLayout.Param::offset).toList());
    assertEquals(28, k.paramBytes());
    assertEquals(KernelLayout.Kind.B64, k.params().get(0).kind());
    assertEquals(KernelLayout.Kind.SCALAR, k.params().get(3).kind());
  }

  @Test
  void truncatedFatbinIsRefusedNamingTheSizes() throws IOException {
    byte[] image = resource("vadd-sm75.fatbin");
    byte[] cut = java.util.Arrays.copyOf(image, image.length - 100);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fatbin.parse(cut));
    assertTrue(e.getMessage().contains("bytes but the image has"), e.getMessage());
  }

  @Test
  void fatbinWithoutPtxSaysHowToBuildOne() throws IOException {
    List<Fatbin.Entry> elfOnly = List.of(new Fatbin.Entry(Fatbin.KIND_ELF, 80, new byte[4]));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Fatbin.ptxFor(elfOnly, 80));
    assertTrue(e.getMessage().contains("no PTX"), e.getMessage());
  }

  @Test
  void structsByValueAndAlignmentFollowTheDeclaration() {
    String ptx = """
        .version 8.0
        .target sm_75
        .address_size 64
        .visible .entry k(
          .param .u32 k_param_0,
          .param .align 8 .b8 k_param_1[24],
          .param .f64 k_param_2,
          .param .u8 k_param_3,
          .param .u64 k_param_4
        )
        { ret; }
        .visible .entry empty()
        { ret; }
        """;
    Map<String, KernelLayout> all = PtxEntries.parse(ptx);
    KernelLayout k = all.get("k");
    assertEquals(List.of(0, 8, 32, 40, 48), k.params().stream().map(KernelLayout.Param::offset).toList());
    assertEquals(List.of(4, 24, 8, 1, 8), k.params().stream().map(KernelLayout.Param::size).toList());
    assertEquals(KernelLayout.Kind.BYTES, k.params().get(1).kind());
    assertEquals(KernelLayout.Kind.F64, k.params().get(2).kind());
    assertEquals(KernelLayout.Kind.B64, k.params().get(4).kind());
    assertEquals(56, k.paramBytes());
    assertEquals(0, all.get("empty").params().size());
  }

  @Test
  void pointerSlotsAreLivePointersInB64ParamsAndStructWords() {
    AddressSpace<DeviceBuffer> space = new AddressSpace<>(1L << 40, 1L << 30);
    DeviceBuffer x = new DeviceBuffer(1, 1000, 0, false);
    DeviceBuffer y = new DeviceBuffer(2, 64, 0, false);
    long ax = space.allocate(1000, x).address();
    long ay = space.allocate(64, y).address();
    KernelLayout k = PtxEntries.parse("""
        .version 8.0
        .target sm_75
        .address_size 64
        .entry k(.param .u64 a, .param .u64 b, .param .align 8 .b8 s[16], .param .u64 n)
        { ret; }
        """).get("k");
    ByteBuffer p = ByteBuffer.allocate(k.paramBytes()).order(ByteOrder.LITTLE_ENDIAN);
    p.putLong(0, ax + 40);          // inside x
    p.putLong(8, 12345);            // a number
    p.putLong(16, 7);               // struct word: a number
    p.putLong(24, ay + 64);         // struct word: the end of y
    p.putLong(32, ax + 2000);       // past x: not a pointer
    List<Gpu.Slot> slots = PointerSlots.find(k, p.array(), space);
    assertEquals(2, slots.size());
    assertEquals(new Gpu.Slot(0, x, 40), slots.get(0));
    assertEquals(new Gpu.Slot(24, y, 64), slots.get(1));
  }

  @Test
  void addressesAreNotReusedAndRangesStayInOneAllocation() {
    AddressSpace<String> space = new AddressSpace<>(1L << 40, 1L << 20);
    long a = space.allocate(100, "a").address();
    space.free(a);
    long b = space.allocate(100, "b").address();
    assertTrue(b > a, "a freed address is not handed out again");
    assertNull(space.find(a));
    assertNotNull(space.range("read", b + 10, 90));
    assertThrows(IllegalArgumentException.class, () -> space.range("read", b + 10, 91));
    assertNull(space.allocate(1L << 21, "too big"));
  }

  @Test
  void storedPointersAreFound() {
    AddressSpace<DeviceBuffer> space = new AddressSpace<>(1L << 40, 1L << 30);
    long a = space.allocate(64, new DeviceBuffer(1, 64, 0, false)).address();
    ByteBuffer data = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    data.putLong(8, 99);
    assertEquals(0, PointerSlots.storedPointer(data, a, space));
    data.putLong(16, a + 8);
    assertEquals(a + 8, PointerSlots.storedPointer(data, a, space));
  }

  @Test
  void sliceTextParsesAndNamesBadKeys() {
    SliceSpec s = SliceSpec.parse("gpus=2,memory=8GiB,compute=25,model=V100+P40");
    assertEquals(2, s.gpus());
    assertEquals(8L << 30, s.memoryBytes());
    assertEquals(25, s.computePercent());
    assertEquals(List.of("V100", "P40"), s.models());
    assertEquals(s, SliceSpec.parse(s.text()));
    SliceSpec d = SliceSpec.parse("percent=50").orElse(SliceSpec.parse("gpus=1,memory=1GiB,compute=0"));
    assertEquals(50, d.memoryPercent());
    assertEquals(0, d.memoryBytes());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SliceSpec.parse("memroy=1G"));
    assertTrue(e.getMessage().contains("unknown key memroy"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> SliceSpec.parse("memory=lots"));
    assertTrue(e.getMessage().contains("memory=lots"), e.getMessage());
  }
}
