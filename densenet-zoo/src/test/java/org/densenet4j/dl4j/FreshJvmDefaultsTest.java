package org.densenet4j.dl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.junit.jupiter.api.Test;

/**
 * The fast path with no flags, where it matters: in a JVM whose first use of ND4J is the zoo's
 * {@code init()} (a user's {@code main}), the native defaults are applied before ND4J loads and the
 * graph runs the fast path. Run in a child JVM, since this one has loaded ND4J long ago.
 */
class FreshJvmDefaultsTest {

    /** The child: a user's program, nothing set, {@code init()} first. Prints what it got, one key=value a line. */
    public static void main(String[] args) {
        ComputationGraph graph = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        System.out.println("platformExtension=" + System.getProperty(NativeDefaults.PLATFORM_EXTENSION));
        System.out.println("helpersDisabled=" + System.getProperty(NativeDefaults.HELPERS_DISABLE));
        System.out.println("oneDnnAvx2Usable=" + NativeDefaults.oneDnnAvx2Usable());
        System.out.println("libnd4jUsesOneDnn=" + NativeDefaults.libnd4jUsesOneDnn());
        System.out.println("convHelpers=" + java.util.Arrays.stream(graph.getLayers())
                .filter(l -> l instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer)
                .allMatch(l
                -> ((org.deeplearning4j.nn.layers.convolution.ConvolutionLayer) l).getHelper() instanceof
                OneDnnConvHelper));
        System.out.println("fastPath=" + FastPath.runsIn(graph));
    }

    @Test
    void aProgramThatStartsWithInitGetsTheFastPath() throws IOException, InterruptedException {
        Map<String, String> got = runChild();
        assertEquals("null", got.get("helpersDisabled"),
                "DL4J's switch left alone (its lookup would log an ERROR): " + got);
        assertEquals(got.get("libnd4jUsesOneDnn"), got.get("convHelpers"),
                "FastPath's helpers wherever oneDNN runs: " + got);
        assertTrue(!got.containsKey("log") || !got.get("log").contains(" ERROR "), "no ERROR line: " + got.get("log"));
        String expected = Boolean.parseBoolean(got.get("oneDnnAvx2Usable")) ? NativeDefaults.ONEDNN_AVX2 : "null";
        assertEquals(expected, got.get("platformExtension"), "the oneDNN natives where the CPU runs them: " + got);
        assertEquals("true", got.get("fastPath"), "init() installs the fast path: " + got);
    }

    private static Map<String, String> runChild() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "-Xmx512m", "-cp",
                System.getProperty("java.class.path"),
                FreshJvmDefaultsTest.class.getName())).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        Map<String, String> got = new TreeMap<>();
        got.put("log", out.lines().filter(l -> l.startsWith("[")).collect(Collectors.joining("\n")));
        out.lines().filter(l -> l.matches("\\w+=.*")).forEach(l -> got.put(l.substring(0, l.indexOf('=')),
                l.substring(l.indexOf('=') + 1)));
        return got;
    }
}
