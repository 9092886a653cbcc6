package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Npy;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Cross-framework golden tests: weight files with random, non-trivial weights, written in each
 * layout by a Python script, imported here; the graph's log-probabilities, and those of its compiled
 * form (the zoo's inference engine, BN folded into the convolutions), must equal those PyTorch
 * computes with the same weights on the same input.
 */
class GoldenImportTest {

    @ParameterizedTest(name = "{0} {1} at {2}x{3}")
    @CsvSource({
        "densenet121, keras1-tf, 224, 224, 4",
        "densenet121, keras1-th, 224, 224, 2",
        "densenet121, keras2, 224, 224, 2",
        "densenet121, keras2-full, 192, 160, 2",
        "densenet169, keras1-tf, 160, 200, 2",
    })
    void importedGraphComputesWhatPyTorchComputes(String arch, String layout, int height, int width, int batch)
            throws Exception {
        Fixtures.Fixture f = Fixtures.get(arch, layout, height, width, batch);
        WeightFileSummary summary = KerasDenseNetImporter.inspect(f.weights());
        assertEquals(WeightLayout.fromId(layout.replace("-full", "")), summary.layout(), "detected layout");
        assertEquals(arch, summary.preset().orElseThrow().id(), "architecture read from the file");

        DenseNetConfig config = DenseNetPreset.fromId(arch).config();
        ComputationGraph net = KerasDenseNetImporter.load(f.weights(), config);
        INDArray x = Npy.read(f.input());
        INDArray expected = Npy.read(f.logProbabilities());

        assertMatches(expected, net.outputSingle(x), "graph");
        if (CompiledGraph.available()) {
            assertMatches(expected, CompiledGraph.compile(net).outputSingle(x), "compiled graph");
        }
        net.close();
    }

    /**
     * keras.applications' weights-only files in each naming generation (see {@link KerasNames}),
     * written as Keras 2's save_weights writes them, with and without a model-name scope before the
     * weight names: each loads by role into the same graph and computes what PyTorch computes.
     */
    @ParameterizedTest(name = "keras.applications naming {0}, weight scope {1}")
    @CsvSource({"resaved,", "resaved, densenet121", "old,", "old, densenet121"})
    void everyKerasApplicationsNamingLoads(String naming, String weightScope) throws Exception {
        Fixtures.Fixture f = Fixtures.keras2("densenet121", naming, weightScope, 64, 64, 2);
        WeightFile file = WeightFile.read(f.weights());
        String bn = naming.equals("old") ? "conv2/block1/0/bn" : "conv2_block1_0_bn";
        assertEquals(List.of((weightScope == null ? "" : weightScope + "/") + bn + "/gamma:0",
                        (weightScope == null ? "" : weightScope + "/") + bn + "/beta:0",
                        (weightScope == null ? "" : weightScope + "/") + bn + "/moving_mean:0",
                        (weightScope == null ? "" : weightScope + "/") + bn + "/moving_variance:0"),
                file.layers().get(bn).weights().stream().map(WeightFile.Tensor::name).toList(),
                "the fixture is in the naming under test");
        assertTrue(file.layers().containsKey("fc1000"), "keras.applications' classifier");

        WeightFileSummary summary = KerasDenseNetImporter.inspect(f.weights());
        assertEquals(WeightLayout.KERAS2, summary.layout());
        assertEquals("densenet121", summary.preset().orElseThrow().id());
        ComputationGraph net = KerasDenseNetImporter.load(f.weights(), DenseNetPreset.DENSENET121.config());
        assertMatches(Npy.read(f.logProbabilities()), net.outputSingle(Npy.read(f.input())), "graph");
        net.close();
    }

    private static void assertMatches(INDArray expected, INDArray probabilities, String engine) {
        INDArray logp = Transforms.log(probabilities, true);
        assertArrayEquals(expected.shape(), logp.shape(), engine);
        double maxDiff = Transforms.abs(logp.sub(expected)).maxNumber().doubleValue();
        assertTrue(maxDiff <= 1e-3, engine + ": max |log p_dl4j - log p_torch| = " + maxDiff);
        assertArrayEquals(expected.argMax(1).toLongVector(), logp.argMax(1).toLongVector(), engine + ": top-1 classes");
    }
}
