package org.densenet4j.training;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.densenet4j.zoo.fcn.FcDenseNetConfig;
import org.densenet4j.zoo.fcn.FcDenseNetZooModel;
import org.densenet4j.zoo.resnet.ResNetConfig;
import org.densenet4j.zoo.resnet.ResNetZooModel;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The training accuracy counted from {@code fit()}'s forward pass is that of the graph's training-
 * mode output on the batch, for each of the zoo's kinds of output layer.
 */
class BatchAccuracyTest {

    @Test
    void aDenseNetsAccuracyIsItsOutputs() {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        assertCountsTheTrainingOutput(net, TinyNets.bars(16, 12, 1));
    }

    @Test
    void aResNetsAccuracyIsItsOutputs() {
        ComputationGraph net = new ResNetZooModel("tiny", ResNetConfig.builder().stageBlocks(1, 1).stageChannels(4, 8)
                .numClasses(2).inputShape(16, 16, 1).build()).init();
        assertCountsTheTrainingOutput(net, TinyNets.bars(16, 16, 1));
    }

    @Test
    void anFcDenseNetsAccuracyCountsPixels() {
        ComputationGraph net = new FcDenseNetZooModel("tiny", FcDenseNetConfig.builder().initialFilters(8).growthRate(4)
                .layersPerBlock(2, 2).numClasses(2).inputShape(12, 12, 1).dropoutRate(0).build()).init();
        assertCountsTheTrainingOutput(net, TinyNets.squares(4, 12, 1));
    }

    /** Runs one step through {@link TrainingStep} (compiled where the engine can run the graph). */
    private static void assertCountsTheTrainingOutput(ComputationGraph net, DataSet batch) {
        // the training-mode forward pass (the batch's own BN statistics) the step's will be
        INDArray expected = net.outputSingle(true, batch.getFeatures()).argMax(1);
        double accuracy = expected.eq(batch.getLabels().argMax(1)).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        TrainingStep step = TrainingStep.of(net, true);
        step.fit(batch);
        assertEquals(accuracy, step.accuracy().value(), 1e-12, step.describe());
        step.finish();
        net.close();
    }
}
