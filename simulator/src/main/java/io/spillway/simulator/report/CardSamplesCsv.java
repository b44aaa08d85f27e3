package io.spillway.simulator.report;

import io.spillway.simulator.CardInfo;
import io.spillway.simulator.PolicyResult;
import io.spillway.simulator.Sample;
import io.spillway.simulator.SimulationResult;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Per-card utilization over time, one row per policy, sample and card:
 * {@code policy,time_s,pool,node,gpu,model,memory_util,compute_util} (fractions of the card's
 * usable memory and of 100% compute that the sessions on it asked for).
 */
public final class CardSamplesCsv {

  public static final String HEADER = "policy,time_s,pool,node,gpu,model,memory_util,compute_util";

  private CardSamplesCsv() {}

  /** Three decimals, without String.format: this file has a row per card per sample per policy. */
  private static String fraction(float v) {
    long thousandths = Math.round(v * 1000.0);
    long rest = thousandths % 1000;
    return thousandths / 1000 + (rest < 10 ? ".00" : rest < 100 ? ".0" : ".") + rest;
  }

  public static void write(SimulationResult result, Path file) throws IOException {
    List<CardInfo> cards = result.cards();
    try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      out.write(HEADER);
      out.write('\n');
      for (PolicyResult p : result.policies()) {
        for (Sample s : p.samples()) {
          String prefix = p.policy().name() + "," + Math.round(s.timeSeconds()) + ",";
          for (int c = 0; c < cards.size(); c++) {
            CardInfo card = cards.get(c);
            out.write(prefix);
            out.write(card.pool() + "," + card.nodeId() + "," + card.gpuIndex() + "," + card.model() + ","
                + fraction(s.cardMemoryUtilization()[c]) + "," + fraction(s.cardComputeUtilization()[c]) + "\n");
          }
        }
      }
    }
  }
}
