package org.densenet4j.engine;

import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The compiled graph against the graph it was compiled from: same outputs (1e-4, relative to the
 * output's scale) on DenseNets of every layout and on a graph with every kind of layer it runs, with
 * random batch-norm statistics so that folding is exercised; clear errors for what it cannot run.
 */
class CompiledGraphTest {

    @BeforeAll
    static void oneDnn() {
        assumeTrue(CompiledGraph.available(), "oneDNN natives not loaded on this platform");
    }

    @Test
    void denseNet121MatchesTheGraphAtSeveralBatchesAndSizes() {
        ComputationGraph net = randomised(DenseNetZooModel.of(DenseNetPreset.DENSENET121).init(), 1);
        CompiledGraph compiled = CompiledGraph.compile(net);
        assertTrue(compiled.layout().startsWith("nChw"), compiled.layout()); // 64 + 32k channels fill blocks
        for (long[] shape : new long[][] {{1, 3, 224, 224}, {3, 3, 97, 130}, {1, 3, 32, 32}}) {
            assertSame(net, compiled, input(shape, 7));
        }
    }

    @Test
    void denseNetBcRunsInNhwcWhenChannelsDoNotFillBlocks() {
        ComputationGraph net = randomised(DenseNetZooModel.of(DenseNetPreset.CIFAR_DENSENET_BC100_K12).init(), 2);
        CompiledGraph compiled = CompiledGraph.compile(net);
        assertEquals("nhwc", compiled.layout()); // 24 + 12k channels
        assertSame(net, compiled, input(new long[] {5, 3, 32, 32}, 3));
    }

    @Test
    void everyLayoutGivesTheSameOutputs() {
        // 32 + 16k channels, halved by the transition: whole blocks of 8 and 16
        ComputationGraph net = randomised(new DenseNetZooModel("tiny", TinyNets.tinyBc().growthRate(16)
                .initialFilters(32).build()).init(), 3);
        INDArray x = input(new long[] {4, 1, 12, 12}, 4);
        for (String layout : new String[] {"nchw", "nhwc", "nChw8c", "nChw16c"}) {
            System.setProperty("densenet4j.compiledLayout", layout);
            try {
                CompiledGraph compiled = CompiledGraph.compile(net);
                assertEquals(layout, compiled.layout());
                assertSame(net, compiled, x);
            } finally {
                System.clearProperty("densenet4j.compiledLayout");
            }
        }
    }

    @Test
    void everyKindOfLayerItRunsMatchesTheGraph() {
        ComputationGraph net = everyKindOfLayer();
        CompiledGraph compiled = CompiledGraph.compile(net);
        for (long[] shape : new long[][] {{2, 3, 19, 23}, {1, 3, 16, 20}}) {
            INDArray x = input(shape, 8);
            INDArray[] expected = net.output(false, x);
            INDArray[] actual = compiled.output(x);
            assertEquals(expected.length, actual.length);
            for (int i = 0; i < expected.length; i++) {
                assertClose(expected[i], actual[i], "output " + i + " at " + java.util.Arrays.toString(shape));
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> compiled.output(input(new long[] {1, 3, 8, 9}, 8)));
        assertTrue(e.getMessage().contains("merge 'merge': input 'avgsame' is [1, 8, 2, 3], expected the size of"
                + " [1, 8, 2, 2]"), e.getMessage());
    }

    /**
     * A graph with every kind of layer the compiled graph runs (initialised, batch norms randomised)
     * and outputs of each kind: probabilities, pooled features, feature maps.
     */
    static ComputationGraph everyKindOfLayer() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .seed(5).dataType(DataType.FLOAT).activation(Activation.IDENTITY)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(19, 23, 3))
                .addLayer("c1", new ConvolutionLayer.Builder(3, 3).nOut(8).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build(), "in")
                .addLayer("bn_log", new BatchNormalization.Builder().useLogStd(true).build(), "c1")
                .addLayer("c2", new ConvolutionLayer.Builder(1, 1).nOut(8).hasBias(true).build(), "bn_log")
                .addLayer("bn_locked", new BatchNormalization.Builder().lockGammaBeta(true).gamma(1.5).beta(-0.2)
                        .useLogStd(false).build(), "c2")
                .addLayer("relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), "bn_locked")
                .addLayer("same", new ActivationLayer.Builder().activation(Activation.IDENTITY).build(), "relu")
                .addLayer("drop", new DropoutLayer.Builder(0.5).build(), "same")
                .addLayer("maxpad", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                        .padding(1, 1).build(), "drop")
                .addLayer("avgpad", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(1, 1)
                        .padding(1, 1).build(), "drop")
                .addLayer("avgsame", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).avgPoolIncludePadInDivisor(false).build(), "drop")
                .addLayer("c3", new ConvolutionLayer.Builder(3, 3).nOut(8).padding(1, 1).build(), "avgpad")
                .addLayer("pre", new ActivationLayer.Builder().activation(Activation.RELU).build(), "avgpad")
                .addLayer("bn_shared", new BatchNormalization.Builder().useLogStd(false).build(), "c3")
                .addLayer("c4", new ConvolutionLayer.Builder(2, 2).stride(2, 2).nOut(8).build(), "pre")
                .addVertex("merge", new MergeVertex(), "c4", "avgsame", "maxpad")
                .addLayer("gmax", new GlobalPoolingLayer.Builder(PoolingType.MAX).build(), "merge")
                .addLayer("gavg", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "bn_shared")
                .addLayer("hidden", new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build(), "gmax")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("out", "gavg", "bn_shared", "c2")
                .build());
        net.init();
        return randomised(net, 6);
    }

    @Test
    void concatenationsExtendedInPlaceOnlyWhereNothingElseExtendsThem() {
        // a = [x, y] is extended twice (b and c: neither may write into a's buffer); d = [b, y] extends b in
        // place while b is also an output and read by a batch norm after d exists.
        var g = new NeuralNetConfiguration.Builder().seed(11).dataType(DataType.FLOAT).activation(Activation.IDENTITY)
                .graphBuilder().addInputs("in").setInputTypes(InputType.convolutional(10, 9, 3));
        for (String name : new String[] {"x", "y", "z", "w"}) {
            g.addLayer(name, new ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(16).build(), "in");
        }
        g.addVertex("a", new MergeVertex(), "x", "y")
                .addVertex("b", new MergeVertex(), "a", "z")
                .addVertex("c", new MergeVertex(), "a", "w")
                .addVertex("d", new MergeVertex(), "b", "y")
                .addLayer("bn_b_only", new BatchNormalization.Builder().useLogStd(false).build(), "b")
                .addLayer("bn_d", new BatchNormalization.Builder().useLogStd(false).build(), "d")
                .setOutputs("b", "c", "bn_b_only", "bn_d");
        ComputationGraph net = new ComputationGraph(g.build());
        net.init();
        randomised(net, 12);
        for (String layout : new String[] {"nChw16c", "nchw"}) {
            System.setProperty("densenet4j.compiledLayout", layout);
            try {
                CompiledGraph compiled = CompiledGraph.compile(net);
                for (long batch : new long[] {1, 3}) {
                    INDArray x = input(new long[] {batch, 3, 10, 9}, 13);
                    INDArray[] expected = net.output(false, x);
                    INDArray[] actual = compiled.output(x);
                    for (int i = 0; i < expected.length; i++) {
                        assertClose(expected[i], actual[i], layout + " batch " + batch + " output " + i);
                    }
                }
            } finally {
                System.clearProperty("densenet4j.compiledLayout");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DenseNetPreset.class, names = {"DENSENET121", "CIFAR_DENSENET40_K12",
        "CIFAR_DENSENET_BC100_K12", "FASHION_MNIST", "D2L_DENSENET"})
    void everyStepOfTheZoosGraphsRunsOneDnnsFastCode(DenseNetPreset preset) {
        DenseNetConfig c = preset.config();
        CompiledGraph compiled = CompiledGraph.compile(DenseNetZooModel.of(preset).init());
        for (long batch : new long[] {1, 4}) {
            List<String> steps = compiled.describe(batch, c.inputChannels(), c.inputHeight(), c.inputWidth());
            assertTrue(steps.size() > 10, String.join("\n", steps));
            // oneDNN's reference code ("ref:any") is orders of magnitude slower: a first convolution on one
            // channel into NHWC once fell to it and took most of the forward pass.
            assertTrue(steps.stream().noneMatch(s -> s.contains(": ref")), String.join("\n", steps));
        }
    }

    @Test
    void badInputsAndUnsupportedGraphsSayWhat() {
        ComputationGraph net = DenseNetZooModel.of(DenseNetPreset.CIFAR_DENSENET40_K12).init();
        CompiledGraph compiled = CompiledGraph.compile(net);
        IllegalArgumentException channels = assertThrows(IllegalArgumentException.class,
                () -> compiled.output(Nd4j.rand(DataType.FLOAT, 1, 1, 32, 32)));
        assertTrue(channels.getMessage().contains("'conv1' expects 3 input channels, got 1"), channels.getMessage());
        // Inputs smaller than the pooling windows: DL4J sizes them with truncating division and pads;
        // the compiled graph does the same and gives the same numbers.
        for (long[] tiny : new long[][] {{2, 3, 1, 1}, {1, 3, 2, 3}}) {
            assertSame(net, compiled, input(tiny, 16));
        }
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
                () -> compiled.output(Nd4j.rand(DataType.FLOAT, 3, 32, 32)));
        assertTrue(rank.getMessage().contains("[N, C, H, W]"), rank.getMessage());

        // A residual addition runs (ResidualAdditionTest); an elementwise product does not.
        ComputationGraph product = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .dataType(DataType.FLOAT).activation(Activation.IDENTITY).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(8, 8, 2))
                .addLayer("c", new ConvolutionLayer.Builder(1, 1).nOut(2).build(), "in")
                .addVertex("times", new ElementWiseVertex(ElementWiseVertex.Op.Product), "in", "c")
                .setOutputs("times").build());
        product.init();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> CompiledGraph.compile(product));
        assertTrue(e.getMessage().contains("'times' (ElementWiseVertex Product"), e.getMessage());
    }

    @Test
    void anyVerticesAsOutputsAsFeedForwardGivesThem() {
        ComputationGraph net = randomised(new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init(), 14);
        INDArray x = input(new long[] {3, 1, 12, 12}, 15);
        var activations = net.feedForward(x, false);
        // pooled features; a batch norm whose ReLU would otherwise be fused into it; that ReLU
        String[] wanted = {"pool3", "conv2_blk_bn", "relu2_blk"};
        INDArray[] actual = CompiledGraph.compile(net, wanted).output(x);
        for (int i = 0; i < wanted.length; i++) {
            assertClose(activations.get(wanted[i]), actual[i], wanted[i]);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CompiledGraph.compile(net, "pool9"));
        assertTrue(e.getMessage().contains("no vertex 'pool9'"), e.getMessage());
    }

    @Test
    void aSnapshotOfTheParameters() {
        ComputationGraph net = randomised(new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init(), 9);
        INDArray x = input(new long[] {2, 1, 12, 12}, 10);
        INDArray before = net.outputSingle(false, x).dup();
        CompiledGraph compiled = CompiledGraph.compile(net);
        net.params().muli(1.5);
        assertClose(before, compiled.outputSingle(x), "after the graph's parameters changed");
    }

    private static void assertSame(ComputationGraph net, CompiledGraph compiled, INDArray x) {
        assertClose(net.outputSingle(false, x), compiled.outputSingle(x), java.util.Arrays.toString(x.shape()));
    }

    /** Equal to 1e-4 of the expected array's largest magnitude (and at least 1e-6 absolute). */
    static void assertClose(INDArray expected, INDArray actual, String what) {
        assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()), what);
        double scale = Math.max(expected.amaxNumber().doubleValue(), 1e-2);
        double diff = expected.sub(actual.castTo(expected.dataType())).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, what + ": max difference " + diff + " at scale " + scale);
    }

    /** Random batch-norm statistics and affine parameters (and conv biases), so folding has work to do. */
    static ComputationGraph randomised(ComputationGraph net, long seed) {
        return org.densenet4j.testing.RandomParameters.randomise(net, seed);
    }

    static INDArray input(long[] shape, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(2);
    }
}
