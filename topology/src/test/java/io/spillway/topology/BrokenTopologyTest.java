package io.spillway.topology;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One broken topology per test, each differing from {@link #VALID} in one line (or two, where one mistake
 * needs it), and each yielding exactly one problem at the written line and column.
 */
class BrokenTopologyTest {

    /** Line numbers in the tests refer to this text; {@link #validTopologyLoads()} keeps it valid. */
    static final String VALID = """
            name: test
            kafka:
              embedded: true
              port: 9092
            center:
              gateways:
                - name: gw-1
                  host: 127.0.0.1
                  grpcPort: 9100
                  httpPort: 8100
              gpuServers:
                - name: gpu-1
                  host: 127.0.0.1
                  nodePort: 9200
                  gpus:
                    - model: A100
                      memory: 80GiB
                      count: 8
                      reserve: 1GiB
              leaseDuration: 30s
              renewInterval: 10s
              skewMargin: 2s
            edges:
              - name: edge-east
                gateway:
                  host: 127.0.0.1
                  grpcPort: 9300
                  httpPort: 8300
                gpuServers:
                  - name: east-gpu
                    host: 127.0.0.1
                    nodePort: 9310
                    gpus:
                      - model: V100
                        memory: 32GiB
                        count: 8
                appServers:
                  - name: east-app
                    host: 127.0.0.1
                spill:
                  mode: when-full
                  threshold: 90
                failback: when-idle
              - name: edge-west
                gateway:
                  host: 127.0.0.1
                  grpcPort: 9400
                  httpPort: 8400
            tenants:
              - name: search
                maxSessions: 8
                maxMemory: 64GiB
                edges: [edge-east, edge-west]
            heartbeat:
              interval: 5s
              timeout: 15s
            """;

    @Test
    void validTopologyLoads() throws Exception {
        Topology t = TopologyLoader.parse(VALID, "test.yaml");
        assertEquals(2, t.edges().size());
        assertEquals(64L << 30, t.tenants().get(0).maxMemory().bytes());
    }

    @Test
    void misspeltKeySuggestsTheKnownOne() {
        Problem p = onlyProblem(replaceLine(VALID, 11, "gpuServers:", "gpuServer:"));
        assertProblem(p, 11, 3, "center.gpuServer", "unknown key `gpuServer` (did you mean `gpuServers`?)");
    }

    @Test
    void tenantEdgeMustNameAnEdge() {
        Problem p = onlyProblem(replaceLine(VALID, 53, "edge-west]", "edge-wset]"));
        assertProblem(p, 53, 24, "tenants[0].edges[1]", "no edge is named \"edge-wset\" (did you mean \"edge-west\"?)");
    }

    @Test
    void serverNamesAreUniqueAcrossTheFile() {
        Problem p = onlyProblem(replaceLine(VALID, 30, "east-gpu", "gpu-1"));
        assertProblem(p, 30, 15, "edges[0].gpuServers[0].name",
                "duplicate server name \"gpu-1\"; already used by center.gpuServers[0] (line 12)");
    }

    @Test
    void edgeNamesAreUnique() {
        String yaml = replaceLine(replaceLine(VALID, 44, "edge-west", "edge-east"), 53, ", edge-west", "");
        Problem p = onlyProblem(yaml);
        assertProblem(p, 44, 11, "edges[1].name", "duplicate edge name \"edge-east\"; already used by edges[0] (line 24)");
    }

    @Test
    void negativeMemoryIsNotASize() {
        Problem p = onlyProblem(replaceLine(VALID, 35, "32GiB", "-32GiB"));
        assertProblem(p, 35, 21, "edges[0].gpuServers[0].gpus[0].memory",
                "\"-32GiB\" is not a size: a size cannot be negative");
        assertEquals("test.yaml:35:21: edges[0].gpuServers[0].gpus[0].memory: "
                + "\"-32GiB\" is not a size: a size cannot be negative", p.toString());
    }

    @Test
    void countMustBeAtLeastOne() {
        Problem p = onlyProblem(replaceLine(VALID, 36, "count: 8", "count: 0"));
        assertProblem(p, 36, 20, "edges[0].gpuServers[0].gpus[0].count", "count 0 must be at least 1");
    }

    @Test
    void twoComponentsCannotShareAPort() {
        Problem p = onlyProblem(replaceLine(VALID, 47, "9400", "9300"));
        assertProblem(p, 47, 17, "edges[1].gateway.grpcPort",
                "port 9300 on 127.0.0.1 is already used by edges[0].gateway.grpcPort (line 27)");
    }

    @Test
    void localhostAndLoopbackAddressClash() {
        String yaml = replaceLine(replaceLine(VALID, 46, "127.0.0.1", "localhost"), 47, "9400", "9300");
        Problem p = onlyProblem(yaml);
        assertProblem(p, 47, 17, "edges[1].gateway.grpcPort", "is already used by edges[0].gateway.grpcPort");
    }

    @Test
    void portMustBeInRange() {
        Problem p = onlyProblem(replaceLine(VALID, 14, "9200", "70000"));
        assertProblem(p, 14, 17, "center.gpuServers[0].nodePort", "port 70000 is out of range; use 1 to 65535");
    }

    @Test
    void unknownGpuModelSuggestsTheClosest() {
        Problem p = onlyProblem(replaceLine(VALID, 34, "V100", "V1000"));
        assertProblem(p, 34, 20, "edges[0].gpuServers[0].gpus[0].model",
                "\"V1000\" is not a known GPU model (did you mean \"V100\"?); accepted: V100, P40, T4");
    }

    @Test
    void gpuModelIsCaseInsensitive() throws Exception {
        Topology t = TopologyLoader.parse(replaceLine(VALID, 34, "V100", "v100"), "test.yaml");
        assertEquals(GpuModel.V100, t.edges().get(0).gpuServers().get(0).gpus().get(0).model());
    }

    @Test
    void unknownSizeUnitSuggestsTheClosest() {
        Problem p = onlyProblem(replaceLine(VALID, 52, "64GiB", "64GiBs"));
        assertProblem(p, 52, 16, "tenants[0].maxMemory",
                "\"64GiBs\" is not a size: unknown unit \"GiBs\" (did you mean \"GiB\"?)");
    }

    @Test
    void durationNeedsAUnit() {
        Problem p = onlyProblem(replaceLine(VALID, 55, "5s", "5 seconds"));
        assertProblem(p, 55, 13, "heartbeat.interval", "\"5 seconds\" is not a duration: write a whole number followed by ms, s");
    }

    @Test
    void reserveMustLeaveMemory() {
        Problem p = onlyProblem(replaceLine(VALID, 19, "1GiB", "80GiB"));
        assertProblem(p, 19, 20, "center.gpuServers[0].gpus[0].reserve",
                "reserve 80GiB leaves nothing of memory 80GiB; it must be less than memory");
    }

    @Test
    void unknownSpillModeSuggestsTheClosest() {
        Problem p = onlyProblem(replaceLine(VALID, 41, "when-full", "when_full"));
        assertProblem(p, 41, 13, "edges[0].spill.mode",
                "\"when_full\" is not a known spill mode (did you mean \"when-full\"?); accepted: when-full, above-utilization");
    }

    @Test
    void renewIntervalMustBeShorterThanTheLease() {
        Problem p = onlyProblem(replaceLine(VALID, 21, "10s", "30s"));
        assertProblem(p, 21, 18, "center.renewInterval", "renewInterval 30s must be shorter than leaseDuration 30s");
    }

    @Test
    void yamlSyntaxErrorIsLocatedByTheParser() {
        Problem p = onlyProblem(replaceLine(VALID, 27, "grpcPort: 9300", "grpcPort: [9300"));
        assertProblem(p, 28, 15, "", "YAML syntax: expected ',' or ']'");
    }

    @Test
    void thresholdIsAPercentage() {
        Problem p = onlyProblem(replaceLine(VALID, 42, "90", "120"));
        assertProblem(p, 42, 18, "edges[0].spill.threshold", "threshold 120 is not a percentage from 1 to 100");
    }

    @Test
    void missingRequiredKeyPointsAtItsMapping() {
        Problem p = onlyProblem(replaceLine(VALID, 39, "host: 127.0.0.1", "# no host"));
        assertProblem(p, 38, 9, "edges[0].appServers[0].host", "required key `host` is missing");
    }

    @Test
    void duplicateYamlKeyIsReported() {
        Problem p = onlyProblem(replaceLine(VALID, 10, "httpPort: 8100", "grpcPort: 8100"));
        assertProblem(p, 10, 7, "center.gateways[0].grpcPort", "key `grpcPort` appears twice in this mapping (first at line 9)");
    }

    @Test
    void scalarWhereAListIsExpected() {
        Problem p = onlyProblem(replaceLine(VALID, 53, "[edge-east, edge-west]", "edge-east"));
        assertProblem(p, 53, 12, "tenants[0].edges", "expected a list, found \"edge-east\"");
    }

    @Test
    void listWhereAMappingIsExpected() {
        Problem p = onlyProblem(replaceLine(VALID, 40, "spill:", "spill: []").replace(
                "      mode: when-full\n      threshold: 90\n", ""));
        assertProblem(p, 40, 12, "edges[0].spill", "expected a mapping with keys mode, threshold; found a list");
    }

    @Test
    void everyProblemIsReportedInFileOrder() {
        String yaml = replaceLine(replaceLine(replaceLine(VALID, 53, "edge-west]", "edge-wset]"),
                36, "count: 8", "count: 0"), 14, "9200", "70000");
        TopologyException e = assertThrows(TopologyException.class, () -> TopologyLoader.parse(yaml, "test.yaml"));
        assertEquals(List.of(14, 36, 53), e.problems().stream().map(Problem::line).toList(), e.getMessage());
        assertTrue(e.getMessage().startsWith("3 problems in test.yaml:\ntest.yaml:14:"), e.getMessage());
    }

    private static Problem onlyProblem(String yaml) {
        TopologyException e = assertThrows(TopologyException.class, () -> TopologyLoader.parse(yaml, "test.yaml"));
        assertEquals(1, e.problems().size(), e.getMessage());
        return e.problems().get(0);
    }

    private static void assertProblem(Problem p, int line, int column, String path, String fragment) {
        assertEquals("test.yaml", p.file());
        assertEquals(line + ":" + column + " " + path, p.line() + ":" + p.column() + " " + p.path(), p.toString());
        assertTrue(p.message().contains(fragment), () -> "expected \"" + fragment + "\" in: " + p);
    }

    /** {@code yaml} with {@code from} replaced by {@code to} on 1-based {@code line}, which must contain it. */
    static String replaceLine(String yaml, int line, String from, String to) {
        List<String> lines = Arrays.asList(yaml.split("\n", -1));
        String original = lines.get(line - 1);
        assertTrue(original.contains(from), () -> "line " + line + " is \"" + original + "\", not containing " + from);
        lines.set(line - 1, original.replace(from, to));
        return String.join("\n", lines);
    }
}
