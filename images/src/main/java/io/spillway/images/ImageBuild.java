package io.spillway.images;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.AbsoluteUnixPath;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.FilePermissions;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import com.google.cloud.tools.jib.api.buildplan.Port;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes one OCI image tarball per {@link ImageCatalog} entry into {@code --out}, without a Docker daemon
 * (Jib's core library). {@code --base=scratch} (CI's, offline) layers a jlink runtime made from the
 * build's own JDK, and the shared libraries it needs copied from the build machine (glibc, zlib, the
 * dynamic loader: a JVM on scratch has no libc otherwise), under the same paths. Any other base is an
 * image with a Java runtime in {@value ImageCatalog#JAVA_HOME} (eclipse-temurin:17-jre), pulled from
 * its registry. Times are fixed, so the same inputs make the same image digests.
 *
 * <p>Usage: {@code ImageBuild --root=DIR --out=DIR --version=V [--base=scratch|IMAGE] [--only=NAME,...]}
 */
public final class ImageBuild {
  /** The modules the components need from a JRE; java.se covers the JDK's APIs, the rest what the libraries use. */
  static final List<String> MODULES = List.of("java.se", "jdk.unsupported", "jdk.crypto.ec", "jdk.crypto.cryptoki",
      "jdk.management", "jdk.jfr", "jdk.zipfs", "jdk.naming.dns", "jdk.net", "jdk.localedata");
  private static final Pattern LDD = Pattern.compile("^\\s*(?:\\S+ => )?(/\\S+) \\(0x[0-9a-f]+\\)$");
  private static final Instant EPOCH = Instant.ofEpochSecond(1);

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new TreeMap<>();
    for (String a : args) {
      if (!a.startsWith("--") || !a.contains("=")) {
        throw new IllegalArgumentException("argument '" + a + "' is not --key=value");
      }
      opts.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
    }
    Path root = Path.of(require(opts, "root")).toRealPath();
    Path out = Path.of(require(opts, "out"));
    String version = require(opts, "version");
    String base = opts.getOrDefault("base", "scratch");
    Set<String> only = opts.containsKey("only") ? Set.of(opts.get("only").split(",")) : null;
    Files.createDirectories(out);

    List<ImageCatalog.Image> images = new ArrayList<>();
    for (ImageCatalog.Image image : ImageCatalog.ALL) {
      if (only != null && !only.contains(image.name())) {
        continue;
      }
      if (!Files.exists(root.resolve(image.module()).resolve("pom.xml"))) {
        // The webhook module comes with the device-plugin work; until it is in the tree there is nothing to put in.
        System.out.println("images: " + image.name() + " skipped: module " + image.module() + " is not in this tree");
        continue;
      }
      for (ImageCatalog.Content c : image.contents()) {
        if (!Files.exists(root.resolve(c.source()))) {
          throw new IllegalStateException(image.name() + ": " + c.source() + " is missing; package " + image.module() + " first");
        }
      }
      images.add(image);
    }

    List<FileEntriesLayer> baseLayers = List.of();
    if (base.equals("scratch")) {
      Path runtime = out.resolve("jre");
      jlink(runtime);
      baseLayers = scratchLayers(runtime, out.resolve("rootfs"));
    }
    Path cache = out.resolve("cache");
    for (ImageCatalog.Image image : images) {
      long start = System.nanoTime();
      JibContainerBuilder b = base.equals("scratch") ? Jib.fromScratch() : Jib.from(RegistryImage.named(base));
      b.setFormat(ImageFormat.OCI).setCreationTime(EPOCH);
      for (FileEntriesLayer l : baseLayers) {
        b.addFileEntriesLayer(l);
      }
      for (ImageCatalog.Content c : image.contents()) {
        b.addFileEntriesLayer(tree("app", root.resolve(c.source()), c.target()));
      }
      Set<Port> ports = new HashSet<>();
      for (String p : image.ports()) {
        String[] parts = p.split("/");
        ports.add(parts[1].equals("udp") ? Port.udp(Integer.parseInt(parts[0])) : Port.tcp(Integer.parseInt(parts[0])));
      }
      b.setEntrypoint(image.entrypoint()).setProgramArguments(List.of()).setUser(ImageCatalog.USER)
          .setExposedPorts(ports).setEnvironment(new LinkedHashMap<>(ImageCatalog.ENVIRONMENT))
          .setWorkingDirectory(AbsoluteUnixPath.get(image.workingDirectory()))
          .addLabel("org.opencontainers.image.title", image.name())
          .addLabel("org.opencontainers.image.version", version)
          .addLabel("io.spillway.base", base);
      Path tar = out.resolve(image.tarball());
      b.containerize(Containerizer.to(TarImage.at(tar).named(ImageReference.parse(image.reference(version))))
          .setOfflineMode(base.equals("scratch"))
          .setBaseImageLayersCache(cache.resolve("base")).setApplicationLayersCache(cache.resolve("app"))
          .setToolName("spillway-images"));
      System.out.printf("images: %s -> %s (%d MiB, %d ms)%n", image.reference(version), tar,
          Files.size(tar) >> 20, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }
  }

  private static String require(Map<String, String> opts, String key) {
    String v = opts.get(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("--" + key + " is required");
    }
    return v;
  }

  /** A jlink runtime of {@link #MODULES} from the JDK running this build. */
  static void jlink(Path runtime) throws IOException, InterruptedException {
    Path jlink = Path.of(System.getProperty("java.home"), "bin", "jlink");
    if (!Files.isExecutable(jlink)) {
      throw new IllegalStateException("no jlink in " + System.getProperty("java.home") + ": build with a JDK, not a JRE");
    }
    // The runtime depends only on the JDK and the module list: made again only when either changed.
    String stamp = System.getProperty("java.home") + " " + System.getProperty("java.vm.version") + " " + MODULES;
    Path stampFile = runtime.resolveSibling(runtime.getFileName() + ".stamp");
    if (Files.isRegularFile(runtime.resolve("release")) && Files.exists(stampFile)
        && Files.readString(stampFile).equals(stamp)) {
      return;
    }
    if (Files.exists(runtime)) {
      try (Stream<Path> s = Files.walk(runtime)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    run(List.of(jlink.toString(), "--add-modules", String.join(",", MODULES), "--strip-debug", "--no-header-files",
        "--no-man-pages", "--compress=2", "--output", runtime.toString()));
    Files.writeString(stampFile, stamp);
  }

  /**
   * The layers every scratch image starts with: the runtime; the shared libraries its executables and
   * libraries load (as {@code ldd} resolves them on this machine, at the paths it prints, the dynamic
   * loader included); a writable {@code /tmp} (mode 777) and an {@code /etc/passwd} naming the numeric user.
   */
  static List<FileEntriesLayer> scratchLayers(Path runtime, Path rootfs) throws IOException, InterruptedException {
    Set<String> libs = new java.util.TreeSet<>();
    List<Path> objects;
    try (Stream<Path> s = Files.walk(runtime)) {
      objects = s.filter(p -> Files.isRegularFile(p) && (p.toString().endsWith(".so") || p.getParent().endsWith("bin")))
          // The desktop's native libraries (AWT, fonts, sound, images) load only when a program draws.
          .filter(p -> !p.getFileName().toString().matches("lib(awt.*|fontmanager|jsound|javajpeg|lcms|mlib_image|splashscreen|jawt)\\.so"))
          .toList();
    }
    Set<String> own = new HashSet<>();
    objects.forEach(o -> own.add(o.getFileName().toString()));
    for (Path o : objects) {
      for (String line : output(List.of("ldd", o.toString()))) {
        Matcher m = LDD.matcher(line);
        if (m.matches()) {
          if (!Path.of(m.group(1)).normalize().startsWith(runtime)) {
            libs.add(m.group(1));
          }
        } else if (line.contains("not found") && !own.contains(line.trim().split(" ")[0])) {
          // libjvm.so is the runtime's own (lib/server), loaded by path; anything else must be on this machine.
          throw new IllegalStateException(o + " needs a library this machine lacks: " + line.trim());
        }
      }
    }
    // Opened by name at run time, so ldd cannot see them: name lookups, and what the natives that libraries
    // unpack into /tmp link against (JCuda: the C++ runtime and glibc's pthread, dl and rt stubs).
    for (String extra : List.of("libnss_files.so.2", "libnss_dns.so.2", "libresolv.so.2", "libstdc++.so.6",
        "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libm.so.6")) {
      for (String dir : List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64")) {
        if (Files.exists(Path.of(dir, extra))) {
          libs.add(dir + "/" + extra);
          break;
        }
      }
    }
    FileEntriesLayer.Builder libLayer = FileEntriesLayer.builder().setName("glibc");
    for (String lib : libs) {
      // Copied from the real file under the path the loader asks for (symlinks resolved).
      libLayer.addEntry(Path.of(lib).toRealPath(), AbsoluteUnixPath.get(lib), FilePermissions.fromOctalString("755"), EPOCH);
    }
    Files.createDirectories(rootfs.resolve("etc"));
    Files.createDirectories(rootfs.resolve("tmp"));
    Files.writeString(rootfs.resolve("etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\n"
        + "nonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin\n");
    Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\nnonroot:x:65532:\n");
    Files.writeString(rootfs.resolve("etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
    FileEntriesLayer etc = FileEntriesLayer.builder().setName("rootfs")
        .addEntry(rootfs.resolve("etc/passwd"), AbsoluteUnixPath.get("/etc/passwd"), FilePermissions.fromOctalString("644"), EPOCH)
        .addEntry(rootfs.resolve("etc/group"), AbsoluteUnixPath.get("/etc/group"), FilePermissions.fromOctalString("644"), EPOCH)
        .addEntry(rootfs.resolve("etc/nsswitch.conf"), AbsoluteUnixPath.get("/etc/nsswitch.conf"), FilePermissions.fromOctalString("644"), EPOCH)
        // Jib writes no sticky bit; one user runs in the container, and Kubernetes mounts an emptyDir here.
        .addEntry(rootfs.resolve("tmp"), AbsoluteUnixPath.get("/tmp"), FilePermissions.fromOctalString("777"), EPOCH)
        .build();
    return List.of(tree("jre", runtime, ImageCatalog.JAVA_HOME), libLayer.build(), etc);
  }

  /** A layer of a file, or of a directory and everything under it, keeping the executable bits. */
  static FileEntriesLayer tree(String name, Path source, String target) throws IOException {
    FileEntriesLayer.Builder b = FileEntriesLayer.builder().setName(name);
    if (Files.isRegularFile(source)) {
      b.addEntry(source, AbsoluteUnixPath.get(target), permissions(source), EPOCH);
      return b.build();
    }
    List<Path> all;
    try (Stream<Path> s = Files.walk(source)) {
      all = s.sorted().toList();
    }
    for (Path p : all) {
      AbsoluteUnixPath in = AbsoluteUnixPath.get(target).resolve(source.relativize(p).toString());
      Path real = Files.isSymbolicLink(p) ? p.toRealPath() : p;
      b.addEntry(real, in, Files.isDirectory(real) ? FilePermissions.fromOctalString("755") : permissions(real), EPOCH);
    }
    return b.build();
  }

  private static FilePermissions permissions(Path file) throws IOException {
    Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
    return FilePermissions.fromOctalString(p.contains(PosixFilePermission.OWNER_EXECUTE) ? "755" : "644");
  }

  private static void run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + " failed with exit code " + p.exitValue());
    }
  }

  private static List<String> output(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
    p.waitFor();
    return lines;
  }

  private ImageBuild() {}
}
