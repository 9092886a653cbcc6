package org.densenet4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.stream.Stream;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.DenseNetConfig.Stem;
import org.densenet4j.zoo.TinyNets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;

/**
 * Memory-efficient training steps against the default ones: the same score, gradients and
 * parameters after several steps (to float rounding), in less planned memory, on DenseNets with
 * and without bottlenecks, in both layouts, and on DenseNet-121.
 */
class MemoryEfficientTrainingTest {

    @BeforeAll
    static void oneDnn() {
        assumeTrue(CompiledTrainer.available(), "oneDNN natives not loaded on this platform");
    }

    static Stream<Arguments> nets() {
        return Stream.of(
                Arguments.of("DenseNet-BC, NHWC", TinyNets.tinyBc().weightDecay(1e-3).build(), 2),
                Arguments.of("DenseNet-BC, blocked", TinyNets.tinyBc().stem(Stem.IMAGENET).growthRate(16)
                        .initialFilters(32).inputShape(24, 24, 1).weightDecay(1e-3).build(), 3),
                Arguments.of("DenseNet, no bottleneck", TinyNets.tinyBc().bottleneck(false).compression(1.0)
                        .growthRate(16).initialFilters(16).blockLayers(3, 3).build(), 4),
                Arguments.of("DenseNet-121 at 32x32", DenseNetPreset.DENSENET121.config().toBuilder()
                        .inputShape(32, 32, 3).numClasses(10).build(), 5));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nets")
    void theSameStepsInLessMemory(String name, DenseNetConfig config, long seed) {
        DenseNetConfig c = config.toBuilder().updater(new Nesterovs(0.05, 0.9)).seed(seed).build();
        ComputationGraph plain = CompiledGraphTest.randomised(new DenseNetZooModel("net", c).init(), seed);
        ComputationGraph lean = plain.clone();
        CompiledTrainer byDefault = CompiledTrainer.compile(plain, EngineOptions.defaults());
        CompiledTrainer efficient = CompiledTrainer.compile(lean, EngineOptions.defaults().withMemoryEfficient(true));
        DataSet batch = batch(c, 4, seed);
        long[] shape = batch.getFeatures().shape();
        assertTrue(efficient.plannedBytes(shape) < byDefault.plannedBytes(shape), name + ": "
                + efficient.plannedBytes(shape) + " bytes planned, by default " + byDefault.plannedBytes(shape));

        lean.getFlattenedGradients().assign(Float.NaN); // every entry must be written
        double expected = byDefault.computeGradientAndScore(batch.getFeatures(), batch.getLabels());
        double actual = efficient.computeGradientAndScore(batch.getFeatures(), batch.getLabels());
        assertEquals(expected, actual, 1e-5 * Math.max(1, Math.abs(expected)), name + ": score");
        CompiledTrainerTest.assertClose(plain, plain.getFlattenedGradients(), lean.getFlattenedGradients(), 1e-4,
                name + ": gradients");
        for (int i = 0; i < 3; i++) {
            DataSet b = batch(c, 4, seed + 10 + i);
            byDefault.fit(b);
            efficient.fit(b);
        }
        CompiledTrainerTest.assertClose(plain, plain.params(), lean.params(), 1e-4,
                name + ": parameters after 3 steps");
    }

    /** Random images of the net's shape with one-hot labels. */
    private static DataSet batch(DenseNetConfig c, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, c.inputChannels(), c.inputHeight(), c.inputWidth());
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, c.numClasses());
        for (int i = 0; i < n; i++) {
            y.putScalar(i, (i * 7 + seed) % c.numClasses(), 1f);
        }
        return new DataSet(x, y);
    }
}
