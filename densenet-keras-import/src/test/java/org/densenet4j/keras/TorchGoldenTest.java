package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Npy;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Cross-framework golden tests for PyTorch weights: {@code torchvision.models.densenet*} with
 * random, non-trivial weights, saved by torch in each format and key style, imported here; the
 * zoo's graph must give the log-probabilities torchvision computes with the same weights on the same
 * input, to 1e-3, with the same top-1 class.
 */
class TorchGoldenTest {

    @ParameterizedTest(name = "{0} at {1}x{2}")
    @CsvSource({
        "densenet121, 224, 224",
        "densenet121, 176, 208",
        "densenet161, 224, 224",
        "densenet169, 208, 160",
    })
    void everyFormatComputesWhatTorchvisionComputes(String arch, int height, int width) throws Exception {
        Fixtures.TorchFixture f = Fixtures.torch(arch, height, width, 2, 1000);
        INDArray x = Npy.read(f.input());
        INDArray expected = Npy.read(f.logProbabilities());
        DenseNetConfig config = DenseNetPreset.fromId(arch).config().toBuilder().inputShape(height, width, 3).build();
        for (Path weights : List.of(f.pth(), f.legacyPth(), f.safetensors())) {
            WeightFileSummary summary = KerasDenseNetImporter.inspect(weights);
            assertEquals(WeightLayout.TORCHVISION, summary.layout(), weights + ": detected layout");
            assertEquals(arch, summary.preset().orElseThrow().id(), weights + ": architecture read from the file");

            ComputationGraph net = KerasDenseNetImporter.load(weights, config);
            assertEquals(1e-5, bnEpsilon(net), 1e-12, weights + ": torchvision's BN epsilon");
            if (weights.equals(f.pth()) && arch.equals("densenet121") && height == width) {
                assertMatches(expected, net.outputSingle(x), weights + ", graph");
            }
            if (CompiledGraph.available()) {
                assertMatches(expected, CompiledGraph.compile(net).outputSingle(x), weights + ", compiled graph");
            }
            net.close();
        }
    }

    @Test
    void float16WeightsWidenExactly() throws Exception {
        Fixtures.TorchFixture f = Fixtures.torch("densenet-tiny", 32, 32, 2, 5);
        WeightFileSummary summary = KerasDenseNetImporter.inspect(f.pth());
        DenseNetConfig config = summary.toConfig().inputShape(32, 32, 3).build();
        ComputationGraph half = KerasDenseNetImporter.load(f.float16Pth(), config);
        ComputationGraph widened = KerasDenseNetImporter.load(f.float16Widened(), config);
        assertArrayEquals(widened.params().toFloatVector(), half.params().toFloatVector(),
                "float16 values read as the float32 torch widens them to, bit for bit");
    }

    private static double bnEpsilon(ComputationGraph net) {
        return ((org.deeplearning4j.nn.conf.layers.BatchNormalization)
                net.getLayer("conv1_bn").conf().getLayer()).getEps();
    }

    private static void assertMatches(INDArray expected, INDArray probabilities, String what) {
        INDArray logp = Transforms.log(probabilities, true);
        assertArrayEquals(expected.shape(), logp.shape(), what);
        double maxDiff = Transforms.abs(logp.sub(expected)).maxNumber().doubleValue();
        assertTrue(maxDiff <= 1e-3, what + ": max |log p_dl4j - log p_torch| = " + maxDiff);
        System.out.printf("%s: max |log p_dl4j - log p_torch| = %.2e%n", what, maxDiff);
        assertArrayEquals(expected.argMax(1).toLongVector(), logp.argMax(1).toLongVector(), what + ": top-1 classes");
    }
}
