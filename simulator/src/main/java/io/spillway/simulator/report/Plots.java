package io.spillway.simulator.report;

import io.spillway.simulator.PolicyResult;
import io.spillway.simulator.Sample;
import io.spillway.simulator.SimulationResult;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/** Line charts of a simulation over time, one line per policy, drawn with Java2D (headless). */
public final class Plots {

  private static final int W = 900;
  private static final int H = 480;
  private static final int LEFT = 70;
  private static final int RIGHT = 190;
  private static final int TOP = 40;
  private static final int BOTTOM = 55;
  private static final Color[] COLORS = {
      new Color(0x7f7f7f), new Color(0x3a3a3a), new Color(0x1f77b4), new Color(0x0b3d91),
      new Color(0xff7f0e), new Color(0xb34700)};

  private Plots() {}

  /** Memory utilization of busy cards over time, in percent. */
  public static void busyMemoryUtilization(SimulationResult result, Path png) throws IOException {
    line(result, png, "Memory utilization of busy cards (" + result.topology() + ")", "memory asked / usable, busy cards (%)",
        s -> 100 * s.busyMemoryUtilization(), 100.0);
  }

  /** Sessions holding a slice over time. */
  public static void concurrentSessions(SimulationResult result, Path png) throws IOException {
    line(result, png, "Concurrent sessions admitted (" + result.topology() + ")", "sessions", s -> s.concurrent(), 0);
  }

  private static void line(SimulationResult result, Path png, String title, String yLabel,
      ToDoubleFunction<Sample> y, double fixedMax) throws IOException {
    System.setProperty("java.awt.headless", "true");
    double maxX = 0;
    double maxY = fixedMax;
    for (PolicyResult p : result.policies()) {
      for (Sample s : p.samples()) {
        maxX = Math.max(maxX, s.timeSeconds() / 60);
        if (fixedMax == 0) {
          maxY = Math.max(maxY, y.applyAsDouble(s));
        }
      }
    }
    // Five grid divisions of a round size on each axis.
    maxX = 5 * niceCeil(Math.max(maxX, 1) / 5);
    maxY = fixedMax > 0 ? fixedMax : 5 * niceCeil(Math.max(maxY, 1) / 5);
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, W, H);
      int pw = W - LEFT - RIGHT;
      int ph = H - TOP - BOTTOM;
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
      g.setColor(Color.BLACK);
      g.drawString(title, LEFT, 24);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      for (int i = 0; i <= 5; i++) {
        int yy = TOP + ph - ph * i / 5;
        int xx = LEFT + pw * i / 5;
        g.setColor(new Color(0xe0e0e0));
        g.drawLine(LEFT, yy, LEFT + pw, yy);
        g.drawLine(xx, TOP, xx, TOP + ph);
        g.setColor(Color.BLACK);
        String yt = fmt(maxY * i / 5);
        g.drawString(yt, LEFT - 8 - g.getFontMetrics().stringWidth(yt), yy + 4);
        String xt = fmt(maxX * i / 5);
        g.drawString(xt, xx - g.getFontMetrics().stringWidth(xt) / 2, TOP + ph + 18);
      }
      g.drawRect(LEFT, TOP, pw, ph);
      String xLabel = "simulated time (minutes)";
      g.drawString(xLabel, LEFT + pw / 2 - g.getFontMetrics().stringWidth(xLabel) / 2, H - 14);
      Graphics2D r = (Graphics2D) g.create();
      r.rotate(-Math.PI / 2);
      r.drawString(yLabel, -(TOP + ph / 2 + r.getFontMetrics().stringWidth(yLabel) / 2), 18);
      r.dispose();
      List<PolicyResult> policies = result.policies();
      for (int p = 0; p < policies.size(); p++) {
        Color color = COLORS[p % COLORS.length];
        boolean dashed = policies.get(p).policy().spill();
        g.setColor(color);
        g.setStroke(dashed
            ? new BasicStroke(1.6f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1, new float[] {6, 4}, 0)
            : new BasicStroke(1.6f));
        Path2D.Double path = new Path2D.Double();
        boolean first = true;
        for (Sample s : policies.get(p).samples()) {
          double px = LEFT + pw * (s.timeSeconds() / 60) / maxX;
          double py = TOP + ph - ph * Math.min(y.applyAsDouble(s), maxY) / maxY;
          if (first) {
            path.moveTo(px, py);
            first = false;
          } else {
            path.lineTo(px, py);
          }
        }
        g.draw(path);
        int ly = TOP + 14 + p * 20;
        g.drawLine(LEFT + pw + 14, ly - 4, LEFT + pw + 44, ly - 4);
        g.setColor(Color.BLACK);
        g.drawString(policies.get(p).policy().name(), LEFT + pw + 50, ly);
      }
    } finally {
      g.dispose();
    }
    if (!ImageIO.write(img, "png", png.toFile())) {
      throw new IOException("no PNG writer available for " + png);
    }
  }

  private static double niceCeil(double v) {
    double mag = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
      if (m * mag >= v) {
        return m * mag;
      }
    }
    return 10 * mag;
  }

  private static String fmt(double v) {
    return v == Math.rint(v) ? String.format(Locale.ROOT, "%d", (long) v) : String.format(Locale.ROOT, "%.1f", v);
  }
}
