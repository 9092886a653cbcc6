package org.densenet4j.engine;

import org.densenet4j.dl4j.FastPath;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.densenet4j.zoo.DenseNetConfig.Stem;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Compiled training against DL4J's own: the gradients of one batch (every parameter's, and the
 * running statistics' entries), the score, and the parameters after several {@code fit} steps, on
 * DenseNets in both layouts the trainer picks, with weight decay and both batch-norm parameterisations.
 */
class CompiledTrainerTest {

    @BeforeAll
    static void oneDnn() {
        assumeTrue(CompiledTrainer.available(), "oneDNN natives not loaded on this platform");
    }

    /** 8 + 4k channels: NHWC. */
    private static DenseNetConfig nhwcNet() {
        return TinyNets.tinyBc().weightDecay(1e-3).updater(new Nesterovs(0.1, 0.9)).build();
    }

    /** The ImageNet stem (max pooling) and 32 + 16k channels: oneDNN's blocked layout. */
    private static DenseNetConfig blockedNet() {
        return TinyNets.tinyBc().stem(Stem.IMAGENET).growthRate(16).initialFilters(32).inputShape(24, 24, 1)
                .weightDecay(1e-3).updater(new Nesterovs(0.1, 0.9)).build();
    }

    @Test
    void aBatchThatCannotFitFailsBeforeAnythingIsAllocated() {
        ComputationGraph net = new DenseNetZooModel("tiny", nhwcNet()).init();
        CompiledTrainer trainer = CompiledTrainer.compile(net);
        long perExample = trainer.plannedBytes(1, 1, 12, 12);
        assertTrue(trainer.plannedBytes(8, 1, 12, 12) > 4 * perExample, "the plan grows with the batch");
        long batch = 2 * NativeMemory.available() / perExample + 1;
        assumeTrue(batch < Integer.MAX_VALUE, "JavaCPP allows too much native memory to exceed it here");

        long before = Pointer.totalBytes();
        NativeMemory.TooLargeException e = assertThrows(NativeMemory.TooLargeException.class,
                () -> trainer.prepare(batch, 1, 12, 12));
        // None of the plan's buffers were allocated (they are JavaCPP's, so they would count here; the
        // garbage collector freeing other natives meanwhile only lowers the count).
        long allocated = Pointer.totalBytes() - before;
        assertTrue(allocated < e.needed() / 1000, allocated + " bytes allocated while planning " + e.needed());
        assertTrue(e.needed() > e.available(), e.getMessage());
        assertTrue(e.getMessage().startsWith("training a batch of [" + batch + ", 1, 12, 12] with the compiled "
                + "trainer needs "), e.getMessage());
        assertTrue(e.getMessage().contains("MB are available") && e.getMessage().contains("train a smaller batch")
                && e.getMessage().contains("-Dorg.bytedeco.javacpp.maxbytes="), e.getMessage());

        // A batch that fits is allocated as planned, and trains.
        // (Not checked against Pointer.totalBytes(): the collector may free other natives meanwhile.)
        long planned = trainer.plannedBytes(4, 1, 12, 12);
        assertEquals(planned, trainer.prepare(4, 1, 12, 12));
        assertEquals(planned, trainer.memoryPlan(4, 1, 12, 12).total(), "the memory plan accounts for every byte");
        trainer.fit(TinyNets.bars(4, 12, 3));
        assertTrue(Double.isFinite(net.score()));
    }

    @Test
    void gradientsAndScoreMatchDl4jInNhwc() {
        compareGradients(nhwcNet(), 12, 6);
    }

    @Test
    void gradientsAndScoreMatchDl4jInTheBlockedLayout() {
        compareGradients(blockedNet(), 24, 5);
    }

    @Test
    void fitStepsMatchDl4j() {
        for (DenseNetConfig config : List.of(nhwcNet(), blockedNet())) {
            int size = config.inputHeight();
            ComputationGraph dl4j = CompiledGraphTest.randomised(new DenseNetZooModel("tiny", config).init(), 5);
            ComputationGraph ours = dl4j.clone();
            CompiledTrainer trainer = CompiledTrainer.compile(ours);
            Counter counter = new Counter();
            ours.setListeners(counter);
            for (int step = 0; step < 4; step++) {
                DataSet batch = TinyNets.bars(8, size, 100 + step);
                dl4j.fit(batch);
                trainer.fit(batch);
                assertEquals(dl4j.score(), ours.score(), 1e-4 * Math.max(1, Math.abs(dl4j.score())),
                        "score, step " + step);
            }
            assertEquals(4, ours.getIterationCount());
            assertEquals(4, counter.iterations);
            assertClose(dl4j, dl4j.params(), ours.params(), 2e-3, "parameters after 4 steps");
        }
    }

    /**
     * A graph with what the zoo's DenseNets do not have: a convolution with bias in Same mode at
     * stride 2 and a ReLU of its own after it (a bias before a batch norm has no gradient but float
     * noise), a log10-std batch norm with its own decay, a fused ReLU whose output feeds two layers,
     * a ReLU of its own after a merge, max and average pooling, global max pooling, L2; gradients and
     * four steps against DL4J's. (Not Adam: its first steps move every parameter by about the
     * learning rate whatever the gradient's size, so the float noise of gradients that are zero in
     * exact arithmetic, such as a bias whose channel a batch norm re-centres, decides their sign.)
     */
    @Test
    void aGraphWithEveryKindOfLayerMatchesDl4j() {
        ComputationGraph dl4j = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(3)
                .updater(new org.nd4j.linalg.learning.config.Nesterovs(0.05, 0.9)).l2(1e-3)
                .dataType(org.nd4j.linalg.api.buffer.DataType.FLOAT).graphBuilder()
                .addInputs("in")
                .addLayer("conv1", new ConvolutionLayer.Builder(3, 3).stride(2, 2).nOut(16)
                        .convolutionMode(org.deeplearning4j.nn.conf.ConvolutionMode.Same)
                        .activation(Activation.IDENTITY).build(), "in")
                .addLayer("relu0", new org.deeplearning4j.nn.conf.layers.ActivationLayer(Activation.RELU), "conv1")
                .addLayer("bn1", new org.deeplearning4j.nn.conf.layers.BatchNormalization.Builder().useLogStd(true)
                        .decay(0.8).build(), "relu0")
                .addLayer("relu1", new org.deeplearning4j.nn.conf.layers.ActivationLayer(Activation.RELU), "bn1")
                .addLayer("conv2", new ConvolutionLayer.Builder(1, 1).nOut(8).hasBias(false)
                        .activation(Activation.IDENTITY).build(), "relu1")
                .addLayer("bn2", new org.deeplearning4j.nn.conf.layers.BatchNormalization.Builder().useLogStd(false)
                        .build(), "conv2")
                .addLayer("relu2", new org.deeplearning4j.nn.conf.layers.ActivationLayer(Activation.RELU), "bn2")
                .addVertex("merge", new org.deeplearning4j.nn.conf.graph.MergeVertex(), "relu1", "relu2")
                .addLayer("relu3", new org.deeplearning4j.nn.conf.layers.ActivationLayer(Activation.RELU), "merge")
                .addLayer("max", new org.deeplearning4j.nn.conf.layers.SubsamplingLayer.Builder(
                        org.deeplearning4j.nn.conf.layers.PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                        .padding(1, 1).build(), "relu3")
                .addLayer("avg", new org.deeplearning4j.nn.conf.layers.SubsamplingLayer.Builder(
                        org.deeplearning4j.nn.conf.layers.PoolingType.AVG).kernelSize(2, 2).stride(1, 1).build(), "max")
                .addLayer("gp", new GlobalPoolingLayer.Builder(org.deeplearning4j.nn.conf.layers.PoolingType.MAX)
                        .build(), "avg")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "gp")
                .setOutputs("out").setInputTypes(InputType.convolutional(15, 13, 3)).build());
        dl4j.init();
        FastPath.install(CompiledGraphTest.randomised(dl4j, 9));
        ComputationGraph ours = dl4j.clone();
        CompiledTrainer trainer = CompiledTrainer.compile(ours);
        java.util.Random rnd = new java.util.Random(4);
        for (int step = 0; step < 4; step++) {
            org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(step);
            INDArray x = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 5, 3, 15, 13);
            INDArray y = org.nd4j.linalg.factory.Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 5, 3);
            for (int i = 0; i < 5; i++) {
                y.putScalar(i, rnd.nextInt(3), 1);
            }
            if (step == 0) {
                dl4j.setInputs(x);
                dl4j.setLabels(y);
                dl4j.computeGradientAndScore();
                INDArray expected = dl4j.getFlattenedGradients().dup();
                double score = trainer.computeGradientAndScore(x, y);
                assertEquals(dl4j.score(), score, 1e-5 * Math.max(1, Math.abs(score)));
                assertClose(dl4j, expected, ours.getFlattenedGradients(), 1e-3, "gradients");
            }
            // Each step starts both from the same parameters (batch-norm statistics included; the
            // updater states stay each its own, so momentum is compared across the steps): float
            // rounding differs between the two, and carried from step to step through updates near
            // a ReLU or max-pool tie it grew past any fixed tolerance now and then (1.7e-3 once).
            ours.setParams(dl4j.params());
            dl4j.fit(new DataSet(x, y));
            trainer.fit(new DataSet(x, y));
            assertEquals(dl4j.score(), ours.score(), 1e-4 * Math.max(1, Math.abs(dl4j.score())), "score, step " + step);
            assertClose(dl4j, dl4j.params(), ours.params(), 1e-3, "parameters after step " + step);
        }
        assertTrue(trainer.describe(5, 3, 15, 13).stream().anyMatch(l -> l.contains("bnorm")),
                String.join("\n", trainer.describe(5, 3, 15, 13)));
    }

    @Test
    void fitOnAnIteratorCountsAnEpoch() {
        ComputationGraph net = new DenseNetZooModel("tiny", nhwcNet()).init();
        CompiledTrainer trainer = CompiledTrainer.compile(net);
        Counter counter = new Counter();
        net.setListeners(counter);
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            batches.add(TinyNets.bars(4, 12, i));
        }
        trainer.fit(new org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator<>(batches, 1));
        assertEquals(1, net.getEpochCount());
        assertEquals(3, counter.iterations);
        assertEquals(1, counter.epochs);
    }

    @Test
    void refusesWhatItDoesNotRun() {
        ComputationGraph dense = new ComputationGraph(new NeuralNetConfiguration.Builder().graphBuilder()
                .addInputs("in")
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY).build(),
                        "in")
                .addLayer("gp", new GlobalPoolingLayer.Builder().build(), "conv")
                .addLayer("hidden", new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(), "gp")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(2)
                        .activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("out").setInputTypes(InputType.convolutional(8, 8, 1)).build());
        dense.init();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> CompiledTrainer.compile(dense));
        assertTrue(e.getMessage().contains("'hidden'"), e.getMessage());
        assertTrue(CompiledTrainer.tryCompile(dense).isEmpty());

        ComputationGraph dropout = new DenseNetZooModel("tiny", TinyNets.tinyBc().dropoutRate(0.2).build()).init();
        assertTrue(CompiledTrainer.tryCompile(dropout).isEmpty());
    }

    @Test
    void clearErrorsForWrongLabels() {
        ComputationGraph net = new DenseNetZooModel("tiny", nhwcNet()).init();
        CompiledTrainer trainer = CompiledTrainer.compile(net);
        DataSet batch = TinyNets.bars(4, 12, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> trainer.computeGradientAndScore(batch.getFeatures(), batch.getLabels().getColumn(0, true)));
        assertTrue(e.getMessage().contains("fc6"), e.getMessage());
    }

    /** One batch's gradients and score, DL4J's {@code computeGradientAndScore} against the trainer's. */
    private static void compareGradients(DenseNetConfig config, int size, long seed) {
        ComputationGraph dl4j = CompiledGraphTest.randomised(new DenseNetZooModel("tiny", config).init(), seed);
        ComputationGraph ours = dl4j.clone();
        DataSet batch = TinyNets.bars(6, size, seed);
        dl4j.setInputs(batch.getFeatures());
        dl4j.setLabels(batch.getLabels());
        dl4j.computeGradientAndScore();
        INDArray expected = dl4j.getFlattenedGradients().dup();
        CompiledTrainer trainer = CompiledTrainer.compile(ours);
        ours.getFlattenedGradients().assign(Float.NaN); // every entry must be written
        double score = trainer.computeGradientAndScore(batch.getFeatures(), batch.getLabels());
        assertEquals(dl4j.score(), score, 1e-5 * Math.max(1, Math.abs(score)));
        assertClose(dl4j, expected, ours.getFlattenedGradients(), 1e-3, "gradients");
        assertEquals(dl4j.params(), ours.params(), "parameters untouched");
    }

    /**
     * Each parameter's slice of {@code b} within {@code tolerance} of {@code a}'s, relative to that slice's largest
     * magnitude.
     */
    static void assertClose(ComputationGraph net, INDArray a, INDArray b, double tolerance, String what) {
        assertClose(net, a, b, tolerance, 0, what);
    }

    /**
     * As {@link #assertClose(ComputationGraph, INDArray, INDArray, double, String)}, each parameter allowed
     * {@code absolute} beyond the relative tolerance too: for values near float noise, such as the
     * gradient of a bias whose loss barely depends on it.
     */
    static void assertClose(ComputationGraph net, INDArray a, INDArray b, double tolerance, double absolute,
            String what) {
        long covered = 0;
        for (Layer layer : net.getLayers()) {
            for (var entry : layer.paramTable().entrySet()) {
                long n = entry.getValue().length();
                long offset = (HostArrays.address(entry.getValue()) - HostArrays.address(net.params())) / 4;
                INDArray x = a.reshape(a.length()).get(NDArrayIndex.interval(offset, offset + n));
                INDArray y = b.reshape(b.length()).get(NDArrayIndex.interval(offset, offset + n));
                double scale = Math.max(x.amaxNumber().doubleValue(), 1e-6);
                double diff = x.sub(y).amaxNumber().doubleValue();
                assertTrue(diff <= tolerance * scale + absolute, what + " of "
                        + layer.conf().getLayer().getLayerName() + "_" + entry.getKey() + ": off by " + diff
                        + " at scale " + scale);
                covered += n;
            }
        }
        assertEquals(a.length(), covered);
    }

    private static final class Counter extends BaseTrainingListener {
        int iterations;
        int epochs;

        @Override
        public void iterationDone(org.deeplearning4j.nn.api.Model model, int iteration, int epoch) {
            iterations++;
        }

        @Override
        public void onEpochEnd(org.deeplearning4j.nn.api.Model model) {
            epochs++;
        }
    }
}
