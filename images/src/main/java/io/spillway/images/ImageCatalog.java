package io.spillway.images;

import java.util.List;
import java.util.Map;

/**
 * The images the build makes, one per component, and what each holds. The image builder
 * ({@link ImageBuild}), the tarball test and the manifest test all read this one list, so a manifest
 * can only name an image that the build produces.
 *
 * <p>Every image has the same layout whatever its base: the Java runtime in {@value #JAVA_HOME} (where the
 * eclipse-temurin images keep theirs, and where the scratch base puts its jlink runtime), the component
 * under {@code /opt/spillway}, and the numeric non-root user {@value #USER}.
 */
public final class ImageCatalog {

  public static final String JAVA_HOME = "/opt/java/openjdk";
  public static final String JAVA = JAVA_HOME + "/bin/java";
  /** uid:gid; numeric, so that runAsNonRoot can verify it without an /etc/passwd lookup. */
  public static final String USER = "65532:65532";
  public static final String REPOSITORY_PREFIX = "spillway/";

  /**
   * One component's build output copied into the image.
   *
   * @param source path relative to the project root; a directory is copied with everything under it
   * @param target absolute path in the image
   */
  public record Content(String source, String target) {}

  /**
   * @param name the image name without tag, {@code spillway/<component>}
   * @param entrypoint the exec-form entrypoint; manifests add only arguments
   * @param workingDirectory where a Quarkus app finds {@code config/application.properties}
   * @param ports the ports the component listens on, as {@code 7070/tcp}
   * @param contents what the build copies in
   * @param module the Maven module whose build output it is
   */
  public record Image(String name, List<String> entrypoint, String workingDirectory, List<String> ports,
      List<Content> contents, String module) {

    public String reference(String version) {
      return name + ":" + version;
    }

    /** The tarball's file name under target/images. */
    public String tarball() {
      return name.substring(REPOSITORY_PREFIX.length()) + ".tar";
    }
  }

  public static final Image EDGE_GATEWAY = new Image("spillway/edge-gateway",
      List.of(JAVA, "-jar", "/opt/spillway/edge-gateway/quarkus-run.jar"), "/opt/spillway/edge-gateway",
      List.of("7070/tcp", "8081/tcp"),
      List.of(new Content("edge-gateway/target/quarkus-app", "/opt/spillway/edge-gateway")), "edge-gateway");

  public static final Image CENTER_GATEWAY = new Image("spillway/center-gateway",
      List.of(JAVA, "-jar", "/opt/spillway/center-gateway/quarkus-run.jar"), "/opt/spillway/center-gateway",
      List.of("7071/tcp", "8082/tcp"),
      List.of(new Content("center-gateway/target/quarkus-app", "/opt/spillway/center-gateway")), "center-gateway");

  public static final Image GPU_NODE = new Image("spillway/gpu-node",
      List.of(JAVA, "-cp", "/opt/spillway/spillway.jar", "io.spillway.node.NodeMain"), "/opt/spillway",
      List.of("7100/tcp"),
      List.of(new Content("launcher/target/spillway.jar", "/opt/spillway/spillway.jar")), "launcher");

  /** The agent ships the shim; it copies it into the host's shim folder at start (--shim-source). */
  public static final Image AGENT = new Image("spillway/agent",
      List.of(JAVA, "-jar", "/opt/spillway/spillway.jar", "agent"), "/opt/spillway",
      List.of(),
      List.of(new Content("launcher/target/spillway.jar", "/opt/spillway/spillway.jar"),
          new Content("cuda-shim/target/lib/libcuda.so.1", "/opt/spillway/shim/libcuda.so.1")), "launcher");

  public static final Image WEBHOOK = new Image("spillway/webhook",
      List.of(JAVA, "-cp", "/opt/spillway/webhook/lib/*", "io.spillway.webhook.WebhookMain"), "/opt/spillway",
      List.of("8443/tcp"),
      // The webhook's jar and its runtime dependencies, copied by the images-webhook profile.
      List.of(new Content("images/target/webhook-lib", "/opt/spillway/webhook/lib")), "webhook");

  public static final List<Image> ALL = List.of(EDGE_GATEWAY, CENTER_GATEWAY, GPU_NODE, AGENT, WEBHOOK);

  /** The environment every image sets. */
  public static final Map<String, String> ENVIRONMENT = Map.of(
      "JAVA_HOME", JAVA_HOME,
      "PATH", JAVA_HOME + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "LANG", "C.UTF-8");

  private ImageCatalog() {}
}
