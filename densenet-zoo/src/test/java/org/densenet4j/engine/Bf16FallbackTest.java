package org.densenet4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * bf16 asked for on a CPU without AVX512_BF16 or AMX: one line says so and the graph runs fp32. The
 * CPU is made one by oneDNN's own switch {@code DNNL_MAX_CPU_ISA=AVX512_CORE} (its kernels then
 * use nothing newer), in a child JVM, since this one's oneDNN has long chosen its instructions.
 */
class Bf16FallbackTest {

    /** The child: compiles a tiny DenseNet for bf16, runs it and prints the precision it got, twice. */
    public static void main(String[] args) {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        for (int i = 0; i < 2; i++) {
            CompiledGraph c = CompiledGraph.compile(net, EngineOptions.defaults().withPrecision(Precision.BF16));
            c.outputSingle(Nd4j.rand(DataType.FLOAT, 2, 1, 12, 12));
            System.out.println("precision=" + c.precision().id());
            long bf16Steps = c.describe(2, 1, 12, 12).stream().filter(s -> s.contains("bf16")).count();
            System.out.println("bf16Steps=" + bf16Steps);
        }
    }

    @Test
    void withoutBf16InstructionsItSaysSoOnceAndRunsFp32() throws IOException, InterruptedException {
        assumeTrue(CompiledGraph.available(), "oneDNN natives not loaded on this platform");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder child = new ProcessBuilder(List.of(java.toString(), "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), Bf16FallbackTest.class.getName())).redirectErrorStream(true);
        child.environment().put("DNNL_MAX_CPU_ISA", "AVX512_CORE");
        Process p = child.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, p.exitValue(), out);
        assertEquals(2, out.lines().filter(l -> l.equals("precision=fp32")).count(), out);
        assertEquals(2, out.lines().filter(l -> l.equals("bf16Steps=0")).count(), out);
        List<String> said = out.lines().filter(l -> l.contains("bf16 inference needs a CPU with AVX512_BF16 or AMX"))
                .toList();
        assertEquals(1, said.size(), out);
        assertTrue(said.get(0).contains("running fp32"), said.get(0));
    }
}
