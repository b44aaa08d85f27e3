package io.spillway.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

/**
 * The tarballs {@link ImageBuild} wrote (-Dimages): each image's configuration (entrypoint, numeric
 * non-root user, ports, environment) is the catalog's, and its layers hold the runtime, the loader and
 * libc it needs on a scratch base, the component's jars, and the shim in the agent's.
 */
class ImageTarballIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path DIR = Path.of(System.getProperty("spillway.images.dir", "target/images"));
  private static final String VERSION = System.getProperty("spillway.images.version", "0.1.0-SNAPSHOT");

  record Image(JsonNode config, Map<String, TarArchiveEntry> files, List<String> repoTags, Map<String, byte[]> blobs,
      JsonNode manifest) {}

  @Test
  void everyComponentImageHasItsEntrypointUserPortsAndFiles() throws IOException {
    int checked = 0;
    for (ImageCatalog.Image spec : ImageCatalog.ALL) {
      if (!Files.exists(Manifests.ROOT.resolve(spec.module()).resolve("pom.xml"))) {
        continue; // ImageBuild skips a component whose module is not in the tree (and says so)
      }
      Image image = read(DIR.resolve(spec.tarball()));
      String what = spec.name();
      JsonNode c = image.config().path("config");
      assertEquals(List.of(spec.reference(VERSION)), image.repoTags(), what);
      assertEquals(spec.entrypoint(), strings(c.path("Entrypoint")), what + " entrypoint");
      assertEquals(ImageCatalog.USER, c.path("User").asText(), what + " user");
      assertTrue(!c.path("User").asText().startsWith("0:") && c.path("User").asText().matches("[1-9][0-9]*:[0-9]+"), what);
      Set<String> ports = new TreeSet<>();
      c.path("ExposedPorts").fieldNames().forEachRemaining(ports::add);
      assertEquals(new TreeSet<>(spec.ports()), ports, what + " ports");
      assertEquals(spec.workingDirectory(), c.path("WorkingDir").asText(), what);
      assertTrue(strings(c.path("Env")).contains("JAVA_HOME=" + ImageCatalog.JAVA_HOME), what + " env " + c.path("Env"));

      TarArchiveEntry java = image.files().get(ImageCatalog.JAVA);
      assertTrue(java != null && (java.getMode() & 0111) != 0, what + ": no executable " + ImageCatalog.JAVA);
      if (image.config().path("config").path("Labels").path("io.spillway.base").asText().equals("scratch")) {
        assertTrue(image.files().containsKey("/lib64/ld-linux-x86-64.so.2"), what + ": no dynamic loader");
        assertTrue(image.files().keySet().stream().anyMatch(f -> f.endsWith("/libc.so.6")), what + ": no libc");
        assertTrue(image.files().keySet().stream().anyMatch(f -> f.endsWith("/libz.so.1")), what + ": no zlib");
        TarArchiveEntry tmp = image.files().get("/tmp");
        assertTrue(tmp != null && tmp.isDirectory() && (tmp.getMode() & 0777) == 0777, what + ": /tmp is not writable by all");
      }
      for (ImageCatalog.Content content : spec.contents()) {
        assertTrue(image.files().containsKey(content.target()), what + ": no " + content.target());
      }
      checked++;
    }
    assertTrue(checked >= 4, "images checked: " + checked);

    Image edge = read(DIR.resolve(ImageCatalog.EDGE_GATEWAY.tarball()));
    assertTrue(edge.files().containsKey("/opt/spillway/edge-gateway/quarkus-run.jar"));
    assertTrue(edge.files().keySet().stream().anyMatch(f -> f.startsWith("/opt/spillway/edge-gateway/app/")
        && f.contains("spillway-edge-gateway")), "the edge gateway's own jar");
    Image agent = read(DIR.resolve(ImageCatalog.AGENT.tarball()));
    TarArchiveEntry shim = agent.files().get("/opt/spillway/shim/libcuda.so.1");
    assertTrue(shim != null && shim.getSize() > 10_000, "the shim library in the agent image");
  }

  /**
   * The scratch base runs: the GPU node's image, unpacked, starts its entrypoint's JVM as the image's user
   * under chroot, through the image's own dynamic loader (so without /proc), and prints the node's usage.
   * Needs root and chroot (CI has both); skipped elsewhere.
   */
  @Test
  void theGpuNodeImageRunsItsJvmAsItsUser() throws Exception {
    Image image = read(DIR.resolve(ImageCatalog.GPU_NODE.tarball()));
    assumeTrue(image.config().at("/config/Labels/io.spillway.base").asText().equals("scratch"), "not a scratch image");
    Path chroot = Path.of("/usr/sbin/chroot");
    assumeTrue(Files.isExecutable(chroot) && "root".equals(System.getProperty("user.name")), "needs root and chroot");
    Path root = Files.createTempDirectory("gpu-node-rootfs");
    try {
      unpack(image, root);
      List<String> cmd = new ArrayList<>(List.of(chroot.toString(), "--userspec=" + ImageCatalog.USER, root.toString(),
          "/lib64/ld-linux-x86-64.so.2"));
      cmd.addAll(ImageCatalog.GPU_NODE.entrypoint());
      cmd.add("--help");
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("Usage: node"), out);
    } finally {
      try (var walk = Files.walk(root)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static final Map<Path, Image> READ = new HashMap<>();

  /** Reads an OCI image layout tarball, as Jib writes it: index.json, the manifest, the config, the layers. */
  static synchronized Image read(Path tarball) throws IOException {
    Image cached = READ.get(tarball);
    if (cached == null) {
      cached = readUncached(tarball);
      READ.put(tarball, cached);
    }
    return cached;
  }

  private static Image readUncached(Path tarball) throws IOException {
    Map<String, byte[]> entries = blobs(tarball);
    JsonNode index = JSON.readTree(entries.get("index.json"));
    JsonNode ref = index.path("manifests").get(0);
    JsonNode manifest = JSON.readTree(entries.get(blob(ref.path("digest").asText())));
    JsonNode config = JSON.readTree(entries.get(blob(manifest.at("/config/digest").asText())));
    Map<String, TarArchiveEntry> files = new HashMap<>();
    for (JsonNode layer : manifest.path("layers")) {
      forEachEntry(entries.get(blob(layer.path("digest").asText())), (e, in) -> files.put(name(e), e));
    }
    return new Image(config, files, List.of(ref.at("/annotations/org.opencontainers.image.ref.name").asText()),
        entries, manifest);
  }

  /** Unpacks every layer under {@code root}, keeping the executable bits (what a container runtime does). */
  static void unpack(Image image, Path root) throws IOException {
    for (JsonNode layer : image.manifest().path("layers")) {
      forEachEntry(image.blobs().get(blob(layer.path("digest").asText())), (e, in) -> {
        Path target = root.resolve(name(e).substring(1));
        if (e.isDirectory()) {
          Files.createDirectories(target);
        } else if (e.isFile()) {
          Files.createDirectories(target.getParent());
          Files.copy(in, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          if ((e.getMode() & 0100) != 0) {
            target.toFile().setExecutable(true, false);
          }
        }
      });
      Files.setPosixFilePermissions(root, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }

  interface EntryAction {
    void accept(TarArchiveEntry e, InputStream in) throws IOException;
  }

  private static void forEachEntry(byte[] blob, EntryAction action) throws IOException {
    try (InputStream raw = new ByteArrayInputStream(blob);
         TarArchiveInputStream in = new TarArchiveInputStream(isGzip(blob) ? new GZIPInputStream(raw) : raw)) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        action.accept(e, in);
      }
    }
  }

  private static Map<String, byte[]> blobs(Path tarball) throws IOException {
    Map<String, byte[]> entries = new HashMap<>();
    try (TarArchiveInputStream in = new TarArchiveInputStream(Files.newInputStream(tarball))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        if (e.isFile()) {
          entries.put(e.getName(), in.readAllBytes());
        }
      }
    }
    return entries;
  }

  private static String blob(String digest) {
    return "blobs/" + digest.replace(':', '/');
  }

  private static String name(TarArchiveEntry e) {
    return "/" + e.getName().replaceFirst("^\\./", "").replaceFirst("^/", "").replaceFirst("/$", "");
  }

  private static boolean isGzip(byte[] b) {
    return b.length > 2 && (b[0] & 0xff) == 0x1f && (b[1] & 0xff) == 0x8b;
  }
}
