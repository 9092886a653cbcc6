package org.densenet4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.testing.RandomParameters;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The zoo's DenseNets exported to ONNX and run by ONNX Runtime agree with the graph's own output()
 * to max |d log p| <= 1e-4, at batch 1 and 3 (the open batch dimension): DenseNet-121 and 169 at
 * 224x224, a CIFAR DenseNet-BC at 32x32, with seeded random weights, random batch-norm
 * statistics and a widened classifier so that the class probabilities are far from uniform and a
 * mapping error shows.
 * Headless graphs (pooled features, feature maps) and other input sizes agree too.
 */
class DenseNetOnnxAgreementTest {

    private static final double MAX_LOG_P = 1e-4;
    /** fc6's initial weights times this give logits spread over several units: a few classes take most of p. */
    private static final double PEAKING = 5;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(names = {"DENSENET121", "DENSENET169", "CIFAR_DENSENET_BC100_K12"})
    void classProbabilitiesAgreeAtBatchOneAndThree(DenseNetPreset preset) throws Exception {
        DenseNetConfig config = preset.config();
        ComputationGraph net = RandomParameters.randomise(DenseNetZooModel.of(preset).init(), 11);
        net.getLayer("fc6").getParam("W").muli(PEAKING);
        Path file = dir.resolve(preset.id() + ".onnx");
        OnnxExport.write(net, file, OnnxExport.Options.defaults()
                .withInputSize(config.inputHeight(), config.inputWidth()));
        try (Ort ort = new Ort(file)) {
            for (int batch : new int[] {1, 3}) {
                INDArray x = OnnxExportTest.input(new long[] {batch, 3, config.inputHeight(), config.inputWidth()},
                        20 + batch);
                INDArray expected = net.outputSingle(false, x);
                INDArray actual = ort.run("data", x).get("fc6");
                double d = maxLogDifference(expected, actual);
                System.out.printf("%s %dx%d batch %d: max |d log p| = %.3g (largest p %.3f)%n", preset.id(),
                        config.inputHeight(), config.inputWidth(), batch, d, expected.maxNumber().doubleValue());
                assertTrue(d <= MAX_LOG_P, preset.id() + " batch " + batch + ": max |d log p| " + d);
            }
        }
    }

    @Test
    void headlessGraphsAndOtherSizesAgree() throws Exception {
        // d2l's small DenseNet (biased convolutions, BN eps 1e-5, grayscale), as feature maps and as pooled
        // features, with the size left open and run at two sizes other than its 96x96.
        DenseNetPreset d2l = DenseNetPreset.D2L_DENSENET;
        for (DenseNetConfig.Pooling pooling : DenseNetConfig.Pooling.values()) {
            ComputationGraph net = RandomParameters.randomise(new DenseNetZooModel(d2l, b -> b.headless(pooling))
                    .init(), 12);
            Path file = dir.resolve("d2l-" + pooling + ".onnx");
            OnnxExport.write(net, file, OnnxExport.Options.defaults().withDynamicSize(true));
            String output = net.getConfiguration().getNetworkOutputs().get(0);
            try (Ort ort = new Ort(file)) {
                for (long[] shape : new long[][] {{2, 1, 64, 80}, {1, 1, 131, 97}}) {
                    INDArray x = OnnxExportTest.input(shape, 13);
                    Map<String, INDArray> actual = ort.run("data", x);
                    OnnxExportTest.assertClose(net.outputSingle(false, x), actual.get(output),
                            pooling + " " + java.util.Arrays.toString(shape));
                }
            }
        }
        ComputationGraph top = RandomParameters.randomise(DenseNetZooModel.of(d2l).init(), 14);
        Path file = dir.resolve("d2l.onnx");
        OnnxExport.write(top, file, OnnxExport.Options.defaults().withInputSize(96, 96));
        try (Ort ort = new Ort(file)) {
            INDArray x = OnnxExportTest.input(new long[] {3, 1, 96, 96}, 15);
            assertTrue(maxLogDifference(top.outputSingle(false, x), ort.run("data", x).get("fc6")) <= MAX_LOG_P);
        }
    }

    /** max |log p - log q| over every class of every example; both must be positive wherever either is. */
    static double maxLogDifference(INDArray p, INDArray q) {
        assertEquals(java.util.Arrays.toString(p.shape()), java.util.Arrays.toString(q.shape()));
        double[] a = p.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] b = q.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            assertTrue(a[i] > 0 && b[i] > 0, "probability " + i + " underflows: " + a[i] + " vs " + b[i]);
            max = Math.max(max, Math.abs(Math.log(a[i]) - Math.log(b[i])));
        }
        return max;
    }
}
