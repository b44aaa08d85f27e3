package io.spillway.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The test's kustomize subset builds what {@code kubectl kustomize} builds. Runs where a kubectl is on the
 * PATH (kustomize 5 is built into kubectl 1.27 and later); CI's machine has none that it can install (the
 * distribution's kubectl is 1.20, whose kustomize 2 predates these kustomizations), so there the subset
 * stands alone and this test is skipped.
 */
class KustomizeAgreementTest {

  @ParameterizedTest
  @ValueSource(strings = {"edge", "center", "examples/one-site"})
  void theSubsetBuildsWhatKubectlBuilds(String dir) throws Exception {
    Path kubectl = onPath("kubectl");
    assumeTrue(kubectl != null, "kubectl is not on the PATH");
    Path out = Files.createTempFile("kustomize", ".yaml");
    try {
      Process p = new ProcessBuilder(kubectl.toString(), "kustomize", Manifests.DEPLOY.resolve(dir).toString())
          .redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      assumeTrue(p.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize did not finish");
      assertEquals(0, p.exitValue(), "kubectl kustomize " + dir);
      assertEquals(byName(Kustomize.readDocuments(out)), byName(Kustomize.build(Manifests.DEPLOY.resolve(dir))));
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private static Map<String, JsonNode> byName(List<ObjectNode> docs) {
    Map<String, JsonNode> out = new TreeMap<>();
    for (ObjectNode d : docs) {
      out.put(d.path("apiVersion").asText() + " " + d.path("kind").asText() + " " + d.at("/metadata/namespace").asText()
          + "/" + d.at("/metadata/name").asText(), d);
    }
    return out;
  }

  private static Path onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }
}
