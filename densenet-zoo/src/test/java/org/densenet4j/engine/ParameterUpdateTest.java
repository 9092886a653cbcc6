package org.densenet4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Map;
import java.util.function.Consumer;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.nd4j.linalg.schedule.MapSchedule;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;

/**
 * The fused parameter update against DL4J's updater: the same compiled steps on two copies of a
 * graph, one updated by {@link ParameterUpdate}, one by DL4J's updater, must give the same
 * parameters, updater state and scores step after step, for each rule and regularisation it covers
 * (with schedules, biases, batch norms' unregularised and never-divided running statistics); what
 * it does not cover falls back to DL4J's updater.
 */
class ParameterUpdateTest {

    @BeforeAll
    static void oneDnn() {
        assumeTrue(CompiledTrainer.available(), "oneDNN natives not loaded on this platform");
    }

    @Test
    void nesterovsWithL2OnADenseNet() {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().weightDecay(1e-3)
                .updater(new Nesterovs(0.1, 0.9)).build()).init();
        assertSameUpdates(CompiledGraphTest.randomised(net, 3), 12, true);
    }

    @Test
    void sgdWithL1AndWeightDecayScaledByTheLearningRate() {
        assertSameUpdates(graph(new Sgd(0.05), b -> b.l1(1e-3).weightDecay(1e-2, true)), 10, true);
    }

    @Test
    void scheduledNesterovsWithUnscaledWeightDecay() {
        IUpdater updater = new Nesterovs(new StepSchedule(ScheduleType.ITERATION, 0.1, 0.5, 2),
                new MapSchedule(ScheduleType.ITERATION, Map.of(0, 0.5, 2, 0.9)));
        assertSameUpdates(graph(updater, b -> b.weightDecay(1e-3, false)), 10, true);
    }

    @Test
    void adamWithL2() {
        assertSameUpdates(graph(new Adam(1e-2), b -> b.l2(1e-3)), 10, true);
    }

    @Test
    void whatItDoesNotCoverIsLeftToDl4jsUpdater() {
        assertSameUpdates(graph(new RmsProp(1e-3), b -> b.l2(1e-3)), 10, false);
        assertSameUpdates(graph(new Sgd(0.05), b -> b.gradientNormalization(
                GradientNormalization.ClipElementWiseAbsoluteValue).gradientNormalizationThreshold(0.01)), 10, false);
    }

    /**
     * Three compiled steps on two copies of {@code net}: fused and DL4J's updates give the same
     * parameters, updater state and scores; {@code fused} says whether the fused update applies.
     */
    private static void assertSameUpdates(ComputationGraph net, int size, boolean fused) {
        ComputationGraph reference = net.clone();
        ComputationGraph ours = net.clone();
        assertEquals(fused, ParameterUpdate.of(ours).isPresent(), "whether the fused update applies");
        CompiledTrainer dl4j = CompiledTrainer.compile(reference, EngineOptions.defaults().withFusedUpdate(false));
        CompiledTrainer trainer = CompiledTrainer.compile(ours, EngineOptions.defaults());
        for (int step = 0; step < 3; step++) {
            DataSet batch = batch(size, step, net.getOutputLayer(0).getParam("b").length());
            // Each step starts from the same parameters (the updater states stay each side's own): float
            // differences of earlier steps, which the nets' ReLU kinks and batch statistics can amplify,
            // would otherwise be counted against this step's update.
            reference.setParams(ours.params());
            // The two sides' gradients first (same code, same parameters): a difference after the step is
            // then the update's, a difference here the gradients'. The absolute 1e-6 is for a gradient at
            // float-noise scale (an output bias whose classes are nearly balanced).
            dl4j.computeGradientAndScore(batch.getFeatures(), batch.getLabels());
            trainer.computeGradientAndScore(batch.getFeatures(), batch.getLabels());
            CompiledTrainerTest.assertClose(reference, reference.getFlattenedGradients(), ours.getFlattenedGradients(),
                    1e-4, 1e-6, "gradients before step " + step);
            dl4j.fit(batch);
            trainer.fit(batch);
            assertEquals(reference.score(), ours.score(), 1e-6 * Math.max(1, Math.abs(reference.score())),
                    "score, step " + step);
            CompiledTrainerTest.assertClose(reference, reference.params(), ours.params(), 1e-5,
                    "parameters after step " + step);
        }
        INDArray expectedState = reference.getUpdater().getStateViewArray();
        INDArray state = ours.getUpdater().getStateViewArray();
        if (expectedState != null) {
            double scale = Math.max(expectedState.amaxNumber().doubleValue(), 1e-6);
            double diff = expectedState.sub(state).amaxNumber().doubleValue();
            assertTrue(diff <= 1e-5 * scale, "updater state off by " + diff + " at scale " + scale);
        }
        assertFalse(ours.params().equals(net.params()), "the steps changed the parameters");
        assertEquals(3, ours.getIterationCount());
    }

    /**
     * A small graph with convolutions, batch norms, a merge and pooling, as the updater and
     * {@code regularise} say. No bias before a batch norm: its gradient is float noise, which Adam
     * turns into steps of the learning rate, so the two sides' last-bit differences would grow.
     */
    private static ComputationGraph graph(IUpdater updater, Consumer<NeuralNetConfiguration.Builder> regularise) {
        NeuralNetConfiguration.Builder builder = new NeuralNetConfiguration.Builder().seed(5).updater(updater)
                .dataType(DataType.FLOAT);
        regularise.accept(builder);
        ComputationGraph g = new ComputationGraph(builder.graphBuilder()
                .addInputs("in")
                .addLayer("conv1", new ConvolutionLayer.Builder(3,
                3).nOut(8).hasBias(false).convolutionMode(ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build(), "in")
                .addLayer("bn1", new BatchNormalization.Builder().build(), "conv1")
                .addLayer("relu1", new ActivationLayer(Activation.RELU), "bn1")
                .addLayer("conv2", new ConvolutionLayer.Builder(1, 1).nOut(4).hasBias(false)
                        .activation(Activation.IDENTITY).build(), "relu1")
                .addLayer("bn2", new BatchNormalization.Builder().useLogStd(true).build(), "conv2")
                .addLayer("relu2", new ActivationLayer(Activation.RELU), "bn2")
                .addVertex("merge", new MergeVertex(), "relu1", "relu2")
                .addLayer("gp", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "merge")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "gp")
                .setOutputs("out").setInputTypes(InputType.convolutional(10, 10, 1)).build());
        g.init();
        return CompiledGraphTest.randomised(g, 7);
    }

    private static DataSet batch(int size, int step, long classes) {
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(step);
        INDArray x = org.nd4j.linalg.factory.Nd4j.rand(DataType.FLOAT, 6, 1, size, size);
        INDArray y = org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, 6, classes);
        for (int i = 0; i < 6; i++) {
            y.putScalar(i, (i + step) % classes, 1);
        }
        return new DataSet(x, y);
    }
}
