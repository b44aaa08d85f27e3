package io.spillway.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SliceRequestTest {

  private static void assertNames(String expected, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void invalidFieldsAreNamedWithTheirValue() {
    assertNames("gpuCount=0", () -> SliceRequest.builder().gpuCount(0));
    assertNames("gpuCount=65", () -> SliceRequest.builder().gpuCount(65));
    assertNames("memoryPercent=101", () -> SliceRequest.builder().memoryPercent(101));
    assertNames("memoryBytes=-1", () -> SliceRequest.builder().memoryBytes(-1));
    assertNames("computePercent=101", () -> SliceRequest.builder().computePercent(101));
    assertNames("memoryBytes and memoryPercent are both unset", () -> SliceRequest.builder().tenant("t").build());
    assertNames("tenant=", () -> SliceRequest.builder().tenant(" "));
    assertNames("models=", () -> SliceRequest.builder().models("V100", ""));
    assertNames("tenant=null", () -> SliceRequest.builder().memoryBytes(1).build());
    assertNames("memoryBytes=1024 and memoryPercent=50",
        () -> SliceRequest.builder().tenant("t").memoryBytes(1024).memoryPercent(50).build());
    assertNames("model p40 is both",
        () -> SliceRequest.builder().tenant("t").memoryBytes(1).models("p40").excludeModels("P40").build());
  }

  @Test
  void defaultsAskForOneGpuWithNoComputeReserved() {
    SliceRequest r = SliceRequest.builder().tenant("t").memoryPercent(25).build();
    assertEquals(1, r.gpuCount());
    assertEquals(0, r.computePercent());
    assertEquals(0, r.memoryBytes());
    assertEquals(25, r.memoryPercent());
    assertEquals(List.of(), r.models());
    assertEquals(SliceRequest.Placement.DEFAULT, r.placement());
  }
}
