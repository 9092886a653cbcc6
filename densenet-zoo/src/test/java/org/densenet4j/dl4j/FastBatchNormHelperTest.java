package org.densenet4j.dl4j;

import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * The BatchNormalization backward pass of {@link FastBatchNormHelper}: against PyTorch computing the
 * same layer in double precision, and inside a DenseNet against DL4J's own implementation.
 */
class FastBatchNormHelperTest {

    private static final double EPS = 1.001e-5;

    @Test
    void forwardAndBackwardMatchPyTorch(@TempDir Path dir) throws Exception {
        // Channels with offsets and scales as conv outputs have them, over a few spatial sizes.
        for (long[] shape : new long[][] {{16, 12, 7, 7}, {3, 40, 14, 14}, {2, 5, 1, 1}, {8, 24, 15, 15}}) {
            long n = shape[0];
            long c = shape[1];
            Nd4j.getRandom().setSeed(c);
            INDArray offsets = Nd4j.rand(DataType.FLOAT, 1, c, 1, 1).subi(0.5).muli(6);
            INDArray scales = Nd4j.rand(DataType.FLOAT, 1, c, 1, 1).addi(0.2).muli(2);
            INDArray x = Nd4j.randn(DataType.FLOAT, shape).muli(scales.broadcast(shape)).addi(offsets.broadcast(shape));
            INDArray g = Nd4j.randn(DataType.FLOAT, shape);
            INDArray gamma = Nd4j.rand(DataType.FLOAT, 1, c).addi(0.5);
            INDArray beta = Nd4j.randn(DataType.FLOAT, 1, c);
            Map<String, INDArray> golden = pytorch(dir, x, g, gamma, beta);

            for (String oneDnn : new String[] {"true", "false"}) { // oneDNN's passes, then the Java loops
                System.setProperty("densenet4j.oneDnnBatchNorm", oneDnn);
                try {
                    FastBatchNormHelper helper = new FastBatchNormHelper(new MKLDNNBatchNormHelper(DataType.FLOAT));
                    LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
                    INDArray y = helper.preOutput(x, true, shape, gamma, beta, Nd4j.zeros(DataType.FLOAT, 1, c),
                            Nd4j.ones(DataType.FLOAT, 1, c), 0.9, EPS, CNN2DFormat.NCHW, ws);
                    INDArray dGamma = Nd4j.zeros(DataType.FLOAT, 1, c);
                    INDArray dBeta = Nd4j.zeros(DataType.FLOAT, 1, c);
                    Pair<Gradient, INDArray> back = helper.backpropGradient(x, g, shape, gamma, beta, dGamma, dBeta,
                            EPS, CNN2DFormat.NCHW, ws);

                    String at = java.util.Arrays.toString(shape) + (oneDnn.equals("true") ? " oneDNN" : " Java");
                    assertClose("y " + at, golden.get("y"), y, 1e-4);
                    assertClose("dx " + at, golden.get("dx"), back.getSecond(), 1e-4);
                    assertClose("dgamma " + at, golden.get("dgamma"), dGamma, 1e-4);
                    assertClose("dbeta " + at, golden.get("dbeta"), dBeta, 1e-4);
                    assertTrue(back.getFirst().gradientForVariable().get("gamma") == dGamma, "gamma's gradient view");
                } finally {
                    System.clearProperty("densenet4j.oneDnnBatchNorm");
                }
            }
        }
    }

    @Test
    void denseNetGradientsEqualDl4jsOwnBatchNorm() throws Exception {
        ComputationGraph fast = new DenseNetZooModel("tiny", TinyNets.tinyBc().updater(new Sgd(0.1)).build()).init();
        assertTrue(FastBatchNormHelper.installed(fast), "init() installs the helper");
        ComputationGraph plain = fast.clone();
        removeHelpers(plain);
        assertTrue(!FastBatchNormHelper.installed(plain));

        DataSet data = TinyNets.bars(16, 12, 5);
        Map<String, INDArray> expected = gradients(plain, data);
        Map<String, INDArray> actual = gradients(fast, data);
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            assertClose(name, expected.get(name), actual.get(name), 1e-3);
        }

        // and a few steps of training stay together
        for (int i = 0; i < 3; i++) {
            fast.fit(data);
            plain.fit(data);
        }
        assertClose("params after 3 steps", plain.params(), fast.params(), 1e-3);
    }

    private static Map<String, INDArray> gradients(ComputationGraph net, DataSet data) {
        net.setInputs(data.getFeatures());
        net.setLabels(data.getLabels());
        net.computeGradientAndScore();
        Map<String, INDArray> out = new java.util.TreeMap<>();
        net.gradient().gradientForVariable().forEach((k, v) -> out.put(k, v.dup()));
        return out;
    }

    /** DL4J's built-in BatchNormalization code path: no helper at all. */
    private static void removeHelpers(ComputationGraph net) throws ReflectiveOperationException {
        Field helper = BatchNormalization.class.getDeclaredField("helper");
        helper.setAccessible(true);
        for (Layer layer : net.getLayers()) {
            if (layer instanceof BatchNormalization) {
                helper.set(layer, null);
            }
        }
    }

    /** max |expected - actual| relative to max |expected| (absolute below 1). */
    private static void assertClose(String what, INDArray expected, INDArray actual, double tolerance) {
        INDArray e = expected.castTo(DataType.DOUBLE).reshape(expected.length());
        INDArray a = actual.castTo(DataType.DOUBLE).reshape(actual.length());
        double scale = Math.max(1.0, e.amaxNumber().doubleValue());
        double diff = e.sub(a).amaxNumber().doubleValue();
        assertTrue(diff <= tolerance * scale, what + ": max difference " + diff + " (scale " + scale + ")");
    }

    private static Map<String, INDArray> pytorch(Path dir, INDArray x, INDArray g, INDArray gamma, INDArray beta)
            throws IOException, InterruptedException {
        Nd4j.writeAsNumpy(x, dir.resolve("x.npy").toFile());
        Nd4j.writeAsNumpy(g, dir.resolve("g.npy").toFile());
        Nd4j.writeAsNumpy(gamma, dir.resolve("gamma.npy").toFile());
        Nd4j.writeAsNumpy(beta, dir.resolve("beta.npy").toFile());
        Path script = repo().resolve("tools/fixtures/bn_grad.py");
        String python = System.getenv().getOrDefault("DENSENET_PYTHON",
                Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3");
        Path log = dir.resolve("log.txt");
        Process p = new ProcessBuilder(python, script.toString(), dir.toString(), Double.toString(EPS))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "bn_grad.py timed out");
        assertEquals(0, p.exitValue(), () -> "bn_grad.py failed (needs Debian's python3-torch and python3-numpy):\n"
                + read(log));
        Map<String, INDArray> out = new java.util.HashMap<>();
        for (String name : new String[] {"y", "dx", "dgamma", "dbeta"}) {
            File f = dir.resolve(name + ".npy").toFile();
            out.put(name, Nd4j.createFromNpyFile(f));
        }
        return out;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static Path repo() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("tools/fixtures/bn_grad.py"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("cannot find tools/fixtures/bn_grad.py above "
                    + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
