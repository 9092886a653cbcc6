package org.densenet4j.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetConfig.Pooling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Output shapes for several input sizes, batch sizes and heads. */
class OutputShapeTest {

    private static INDArray randomInput(long seed, int batch, int channels, int height, int width) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, batch, channels, height, width);
    }

    private static void assertProbabilities(INDArray out, int batch, int classes) {
        assertArrayEquals(new long[] {batch, classes}, out.shape());
        INDArray rowSums = out.sum(1);
        for (int i = 0; i < batch; i++) {
            assertEquals(1.0, rowSums.getDouble(i), 1e-4, "softmax row " + i + " must sum to 1");
        }
        assertTrue(out.minNumber().doubleValue() >= 0, "probabilities must be non-negative");
    }

    @ParameterizedTest(name = "{0} on {1}x{2}x{3}, batch {4}")
    @CsvSource({
        // id, channels, height, width, batch, classes
        "densenet121, 3, 160, 200, 1, 1000",
        "densenet121, 3, 64, 64, 3, 1000",
        "densenet121, 3, 29, 29, 2, 1000",   // the smallest input 121 can take
        "densenet-bc100-k12, 3, 32, 32, 4, 10",
        "densenet-bc100-k12, 3, 4, 5, 2, 10", // CIFAR nets have two 2x2 pools: 4 pixels suffice
        "densenet40-k12, 3, 40, 24, 2, 10",
        "densenet-d2l, 1, 96, 96, 2, 10",
    })
    void classifierOutputsOneProbabilityRowPerImage(String id, int channels, int height, int width,
                                                    int batch, int classes) {
        ComputationGraph net = DenseNetZooModel.of(DenseNetPreset.fromId(id)).init();
        INDArray out = net.outputSingle(randomInput(7, batch, channels, height, width));
        assertProbabilities(out, batch, classes);
        net.close();
    }

    @ParameterizedTest(name = "headless {0} pooled by {1}: {2} features")
    @CsvSource({
        "densenet121, AVG, 1024",
        "densenet121, MAX, 1024",
        "densenet161, AVG, 2208",
    })
    void headlessModelsOutputThePooledFeatureVector(String id, Pooling pooling, int features) {
        DenseNetPreset preset = DenseNetPreset.fromId(id);
        DenseNetZooModel model = new DenseNetZooModel(preset, c -> c.headless(pooling));
        assertEquals(features, model.config().outputChannels());
        ComputationGraph net = model.init();
        assertEquals("pool5", net.getConfiguration().getNetworkOutputs().get(0));
        INDArray out = net.outputSingle(randomInput(3, 2, 3, 64, 80));
        assertArrayEquals(new long[] {2, features}, out.shape());
        assertTrue(out.minNumber().doubleValue() >= 0, "pooled post-ReLU features are non-negative");
        net.close();
    }

    @Test
    void headlessWithoutPoolingOutputsTheFinalFeatureMaps() {
        ComputationGraph net = new DenseNet121(c -> c.headless(Pooling.NONE)).init();
        assertEquals("relu5_blk", net.getConfiguration().getNetworkOutputs().get(0));
        // 64x96 shrinks 32x: 2x3 feature maps of 1024 channels.
        INDArray out = net.outputSingle(randomInput(5, 1, 3, 64, 96));
        assertArrayEquals(new long[] {1, 1024, 2, 3}, out.shape());
        net.close();
    }

    @Test
    void zooModelReportsAndChangesItsInputShape() {
        DenseNet121 model = new DenseNet121(c -> c.numClasses(7));
        assertEquals("densenet121", model.modelName());
        assertEquals(ComputationGraph.class, model.modelType());
        assertArrayEquals(new int[] {3, 224, 224}, model.metaData().getInputShape()[0]);
        model.setInputShape(new int[][] {{1, 48, 64}});
        assertArrayEquals(new int[] {1, 48, 64}, model.metaData().getInputShape()[0]);
        ComputationGraph net = model.init();
        assertProbabilities(net.outputSingle(randomInput(9, 2, 1, 48, 64)), 2, 7);
        net.close();
    }
}
