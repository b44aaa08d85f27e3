package io.spillway.webhook;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar spillway-webhook.jar [--flag value]...}. Every flag may come from the environment instead:
 * {@code --card-memory} from {@code SPILLWAY_WEBHOOK_CARD_MEMORY} (comma-separated for repeatable flags). A
 * flag on the command line wins.
 */
public final class WebhookMain {

  static final String USAGE = """
      spillway webhook: the mutating admission webhook for spillway.io GPU slices
        --port N                 HTTPS port (default 8443)
        --tls-cert FILE          PEM certificate chain (default /etc/spillway/webhook/tls/tls.crt)
        --tls-key FILE           PEM private key, PKCS#8 or PKCS#1 RSA (default /etc/spillway/webhook/tls/tls.key)
        --card-memory MODEL=SIZE card memory for percent requests, repeatable (e.g. V100=16GiB)
        --unit SIZE              GPU memory per unit of the resource (default 1GiB)
        --resource NAME          the device plugin's resource (default spillway.io/gpu-memory)
        --skip-namespace NS      never touch pods of NS, repeatable (default kube-system, kube-public, kube-node-lease)
        --shim-dir PATH          where containers see the shim (default /usr/local/spillway/lib)
      Each flag may also be set as SPILLWAY_WEBHOOK_<FLAG> (e.g. SPILLWAY_WEBHOOK_CARD_MEMORY=V100=16GiB,P40=24GiB).""";

  private WebhookMain() {
  }

  public static void main(String[] args) throws Exception {
    WebhookConfig config;
    try {
      config = parse(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("spillway webhook: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    WebhookServer server = WebhookServer.start(config);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stop.countDown();
    }));
    stop.await();
  }

  static final Set<String> FLAGS = Set.of("port", "tls-cert", "tls-key", "card-memory", "unit", "resource",
      "skip-namespace", "shim-dir");
  static final Set<String> REPEATABLE = Set.of("card-memory", "skip-namespace");

  /** The configuration from flags and then the environment; an error names the flag and the value. */
  static WebhookConfig parse(String[] args, Map<String, String> env) {
    Map<String, List<String>> flags = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        throw new IllegalArgumentException("usage");
      }
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + a);
      }
      String name = a.substring(2);
      String value;
      int eq = name.indexOf('=');
      if (eq > 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException("--" + name + " needs a value");
      }
      if (!FLAGS.contains(name)) {
        throw new IllegalArgumentException("unknown flag --" + name);
      }
      flags.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    for (String f : FLAGS) {
      String e = env.get("SPILLWAY_WEBHOOK_" + f.toUpperCase(Locale.ROOT).replace('-', '_'));
      if (!flags.containsKey(f) && e != null && !e.isBlank()) {
        flags.put(f, REPEATABLE.contains(f) ? List.of(e.split(",")) : List.of(e));
      }
    }
    int port = 8443;
    if (flags.containsKey("port")) {
      try {
        port = Integer.parseInt(one(flags, "port").strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("port=" + one(flags, "port") + " is invalid: expected 0..65535");
      }
    }
    long unit = 1L << 30;
    if (flags.containsKey("unit")) {
      unit = size("unit", one(flags, "unit"));
    }
    Map<String, Long> cards = new LinkedHashMap<>();
    for (String c : flags.getOrDefault("card-memory", List.of())) {
      int eq = c.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("card-memory=" + c + " is invalid: expected MODEL=SIZE such as V100=16GiB");
      }
      cards.put(c.substring(0, eq).strip(), size("card-memory " + c.substring(0, eq).strip(), c.substring(eq + 1)));
    }
    Set<String> skip = new HashSet<>(WebhookConfig.SYSTEM_NAMESPACES);
    for (String ns : flags.getOrDefault("skip-namespace", List.of())) {
      if (!ns.isBlank()) {
        skip.add(ns.strip());
      }
    }
    return new WebhookConfig(port,
        Path.of(flags.containsKey("tls-cert") ? one(flags, "tls-cert") : "/etc/spillway/webhook/tls/tls.crt"),
        Path.of(flags.containsKey("tls-key") ? one(flags, "tls-key") : "/etc/spillway/webhook/tls/tls.key"),
        flags.containsKey("resource") ? one(flags, "resource") : WebhookConfig.RESOURCE, unit, cards, skip,
        flags.containsKey("shim-dir") ? one(flags, "shim-dir") : WebhookConfig.SHIM_DIR);
  }

  private static String one(Map<String, List<String>> flags, String name) {
    List<String> v = flags.get(name);
    if (v.size() > 1) {
      throw new IllegalArgumentException("--" + name + " is given " + v.size() + " times; give it once");
    }
    return v.get(0);
  }

  private static long size(String key, String value) {
    long b = Sizes.parse(value);
    if (b < 0) {
      throw new IllegalArgumentException(key + "=" + value + " is invalid: expected a size such as 16GiB");
    }
    return b;
  }
}
