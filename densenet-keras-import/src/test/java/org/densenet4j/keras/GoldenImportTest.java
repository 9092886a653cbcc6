package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    private static void assertMatches(INDArray expected, INDArray probabilities, String engine) {
        INDArray logp = Transforms.log(probabilities, true);
        assertArrayEquals(expected.shape(), logp.shape(), engine);
        double maxDiff = Transforms.abs(logp.sub(expected)).maxNumber().doubleValue();
        assertTrue(maxDiff <= 1e-3, engine + ": max |log p_dl4j - log p_torch| = " + maxDiff);
        assertArrayEquals(expected.argMax(1).toLongVector(), logp.argMax(1).toLongVector(), engine + ": top-1 classes");
    }
}
