package org.densenet4j.zoo.io;

import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.nio.file.Path;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;

/** Saved and restored graphs, and graphs rebuilt from JSON, compute exactly what the original does. */
class SerializationTest {

    @TempDir
    Path dir;

    /** A DenseNet-BC L=100 k=12 that has trained a step, so BN statistics and updater state are not initial. */
    private static ComputationGraph trainedBc100() {
        ComputationGraph net = new DenseNetZooModel(DenseNetPreset.CIFAR_DENSENET_BC100_K12,
                c -> c.inputShape(16, 16, 1).numClasses(2).updater(new Adam(1e-3))).init();
        DataSet data = TinyNets.bars(8, 16, 11);
        net.fit(data);
        return net;
    }

    @Test
    void modelSerializerRoundTripGivesIdenticalOutputs() throws Exception {
        ComputationGraph net = trainedBc100();
        INDArray x = TinyNets.bars(5, 16, 12).getFeatures();
        INDArray expected = net.outputSingle(x);

        File file = dir.resolve("bc100.zip").toFile();
        ModelSerializer.writeModel(net, file, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(file, true);

        assertEquals(net.getConfiguration(), restored.getConfiguration());
        assertEquals(net.params(), restored.params());
        assertEquals(expected, restored.outputSingle(x));
        assertEquals(net.getUpdater().getStateViewArray(), restored.getUpdater().getStateViewArray());
    }

    @Test
    void jsonConfigurationRoundTripRebuildsTheSameGraph() {
        ComputationGraph net = trainedBc100();
        String json = net.getConfiguration().toJson();
        ComputationGraphConfiguration parsed = ComputationGraphConfiguration.fromJson(json);
        assertEquals(net.getConfiguration(), parsed);

        ComputationGraph rebuilt = new ComputationGraph(parsed);
        rebuilt.init(net.params().dup(), false);
        INDArray x = TinyNets.bars(3, 16, 13).getFeatures();
        assertEquals(net.outputSingle(x), rebuilt.outputSingle(x));
    }
}
