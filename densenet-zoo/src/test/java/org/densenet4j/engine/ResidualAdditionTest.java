package org.densenet4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.TinyNets;
import org.densenet4j.zoo.resnet.ResNetConfig;
import org.densenet4j.zoo.resnet.ResNetPreset;
import org.densenet4j.zoo.resnet.ResNetZooModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Residual additions (DL4J's {@code ElementWiseVertex(Op.Add)}) in both engines, against DL4J's own
 * graph: d2l's ResNet-18 (blocked layout) and a narrow ResNet (NHWC) compiled for inference, one
 * batch's gradients and score, several {@code fit} steps, memory-efficient steps; a sum of three
 * inputs, one of them the graph's input; the other elementwise operations still refused by name.
 */
class ResidualAdditionTest {

    @BeforeAll
    static void oneDnn() {
        assumeTrue(CompiledTrainer.available(), "oneDNN natives not loaded on this platform");
    }

    /** d2l's ResNet-18 at {@code size}x{@code size}, 64 to 512 channels: oneDNN's blocked layout. */
    private static ComputationGraph resNet18(int size, long seed) {
        return resNet18(size, seed, 0.05);
    }

    private static ComputationGraph resNet18(int size, long seed, double learningRate) {
        return CompiledGraphTest.randomised(new ResNetZooModel(ResNetPreset.RESNET18_D2L, c -> c.numClasses(5)
                .inputShape(size, size, 1).updater(new Nesterovs(learningRate, 0.9)).weightDecay(1e-3).seed(seed))
                .init(), seed);
    }

    /** Two stages of 12 and 20 channels (not whole blocks): NHWC. */
    private static ComputationGraph narrowResNet(long seed) {
        ResNetConfig c = ResNetConfig.builder().stageBlocks(2, 1).stageChannels(12, 20).numClasses(3)
                .inputShape(20, 20, 1).updater(new Nesterovs(0.05, 0.9)).seed(seed).build();
        return CompiledGraphTest.randomised(new ResNetZooModel("narrow", c).init(), seed);
    }

    @Test
    void compiledInferenceOfResNet18IsTheGraphs() {
        ComputationGraph net = resNet18(96, 1);
        CompiledGraph compiled = CompiledGraph.compile(net);
        assertTrue(compiled.layout().startsWith("nChw"), compiled.layout());
        for (long[] shape : new long[][] {{2, 1, 96, 96}, {3, 1, 32, 32}, {1, 1, 61, 75}}) {
            INDArray x = CompiledGraphTest.input(shape, 2);
            CompiledGraphTest.assertClose(net.outputSingle(false, x), compiled.outputSingle(x),
                    java.util.Arrays.toString(shape));
        }
        List<String> steps = compiled.describe(2, 1, 96, 96);
        assertTrue(steps.stream().noneMatch(s -> s.contains(": ref")), String.join("\n", steps));
        // relu(bn2 + shortcut) runs inside conv2 (its batch norm folded in), as post-ops: no step of its own
        assertTrue(steps.stream().noneMatch(s -> s.contains("_add") || s.contains("_relu")), String.join("\n", steps));
        net.close();
    }

    @Test
    void compiledInferenceOfANarrowResNetIsTheGraphsInNhwc() {
        ComputationGraph net = narrowResNet(3);
        CompiledGraph compiled = CompiledGraph.compile(net);
        assertEquals("nhwc", compiled.layout());
        INDArray x = CompiledGraphTest.input(new long[] {4, 1, 20, 20}, 4);
        CompiledGraphTest.assertClose(net.outputSingle(false, x), compiled.outputSingle(x), "narrow ResNet");
        UnaryOperator<INDArray> inference = CompiledGraph.inference(net);
        CompiledGraphTest.assertClose(net.outputSingle(false, x), inference.apply(x), "CompiledGraph.inference");
    }

    @Test
    void aBatchsGradientsAndScoreAreDl4jsOnResNet18() {
        compareGradients(resNet18(32, 5), 32, 5);
    }

    @Test
    void aBatchsGradientsAndScoreAreDl4jsOnANarrowResNetInNhwc() {
        compareGradients(narrowResNet(6), 20, 6);
    }

    @Test
    void fitStepsAreDl4jsOnResNet18() {
        // 64x64, not 32x32: at 32 the last stage's maps are 1x1 and its batch norms normalise over the
        // batch's 4 values alone, which amplifies float rounding enough to part the two after a step.
        ComputationGraph dl4j = resNet18(64, 7, 1e-3);
        ComputationGraph ours = dl4j.clone();
        TrainingStep step = TrainingStep.of(ours, true);
        assertTrue(step.compiled().isPresent(), "the ResNet trains compiled");
        for (int i = 0; i < 3; i++) {
            DataSet batch = labelled(TinyNets.bars(4, 64, 200 + i), 5);
            dl4j.fit(batch);
            step.fit(batch);
            assertEquals(dl4j.score(), step.score(), 1e-3 * Math.max(1, Math.abs(dl4j.score())), "score, step " + i);
        }
        assertEquals(3, ours.getIterationCount());
        CompiledTrainerTest.assertClose(dl4j, dl4j.params(), ours.params(), 2e-3, "parameters after 3 steps");
        dl4j.close();
        ours.close();
    }

    @Test
    void memoryEfficientStepsAreTheDefaultOnesInLessMemory() {
        ComputationGraph plain = narrowResNet(8);
        ComputationGraph lean = plain.clone();
        CompiledTrainer byDefault = CompiledTrainer.compile(plain, EngineOptions.defaults());
        CompiledTrainer efficient = CompiledTrainer.compile(lean, EngineOptions.defaults().withMemoryEfficient(true));
        long[] shape = {4, 1, 20, 20};
        assertTrue(efficient.plannedBytes(shape) < byDefault.plannedBytes(shape),
                efficient.plannedBytes(shape) + " bytes planned, by default " + byDefault.plannedBytes(shape));
        for (int i = 0; i < 3; i++) {
            DataSet batch = labelled(TinyNets.bars(4, 20, 300 + i), 3);
            byDefault.fit(batch);
            efficient.fit(batch);
            assertEquals(plain.score(), lean.score(), 1e-4 * Math.max(1, Math.abs(plain.score())), "score, step " + i);
        }
        CompiledTrainerTest.assertClose(plain, plain.params(), lean.params(), 1e-3, 1e-6, "parameters after 3 steps");
    }

    /** A sum of three maps, one of them the graph's input (NCHW, not the plan's layout), then a ReLU of its own. */
    @Test
    void aSumOfThreeMapsOneOfThemTheInput() {
        ComputationGraph dl4j = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(3)
                .updater(new Nesterovs(0.05, 0.9)).dataType(DataType.FLOAT).activation(Activation.IDENTITY)
                .graphBuilder().addInputs("in").setInputTypes(InputType.convolutional(9, 11, 8))
                .addLayer("a", new ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(8).build(), "in")
                .addLayer("bn", new BatchNormalization.Builder().useLogStd(false).build(), "a")
                .addLayer("b", new ConvolutionLayer.Builder(1, 1).nOut(8).build(), "in")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "bn", "in", "b")
                .addLayer("relu", new ActivationLayer(Activation.RELU), "sum")
                .addLayer("gp", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "relu")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "gp")
                .setOutputs("out").build());
        dl4j.init();
        CompiledGraphTest.randomised(dl4j, 4);
        INDArray x = CompiledGraphTest.input(new long[] {3, 8, 9, 11}, 5);
        CompiledGraph compiled = CompiledGraph.compile(dl4j, "out", "sum");
        // DL4J's inference ReLU works in place on the sum's array: the sum from its terms instead
        var activations = dl4j.feedForward(x, false);
        INDArray[] expected = {activations.get("out"), activations.get("bn").add(x).addi(activations.get("b"))};
        INDArray[] actual = compiled.output(x);
        CompiledGraphTest.assertClose(expected[0], actual[0], "probabilities");
        CompiledGraphTest.assertClose(expected[1], actual[1], "the sum, an output of its own");

        ComputationGraph ours = dl4j.clone();
        DataSet batch = labelled(new DataSet(x, null), 3);
        dl4j.setInputs(batch.getFeatures());
        dl4j.setLabels(batch.getLabels());
        dl4j.computeGradientAndScore();
        INDArray gradients = dl4j.getFlattenedGradients().dup();
        CompiledTrainer trainer = CompiledTrainer.compile(ours);
        ours.getFlattenedGradients().assign(Float.NaN); // every entry must be written
        double score = trainer.computeGradientAndScore(batch.getFeatures(), batch.getLabels());
        assertEquals(dl4j.score(), score, 1e-5 * Math.max(1, Math.abs(score)));
        assertGradientsClose(dl4j, gradients, ours.getFlattenedGradients());
    }

    /**
     * Sums run inside a convolution (oneDNN's sum post-op) in each way the plan can give it the other
     * map: in that map's own buffer (read by nothing after), in a copy (the graph's input; a map read
     * again later); sums that are outputs themselves; and the same in NHWC.
     */
    @Test
    void sumsInsideConvolutionsWhereverTheOtherMapLives() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder().seed(8)
                .dataType(DataType.FLOAT).activation(Activation.IDENTITY)
                .graphBuilder().addInputs("in").setInputTypes(InputType.convolutional(9, 11, 8))
                .addLayer("c0", new ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(8).build(), "in")
                .addLayer("c1", new ConvolutionLayer.Builder(3, 3).padding(1, 1).nOut(8).build(), "c0")
                .addVertex("s1", new ElementWiseVertex(ElementWiseVertex.Op.Add), "c1", "c0") // c0 read again
                .addLayer("r1", new ActivationLayer(Activation.RELU), "s1")
                .addLayer("c2", new ConvolutionLayer.Builder(1, 1).nOut(8).build(), "in")
                .addVertex("s2", new ElementWiseVertex(ElementWiseVertex.Op.Add), "in", "c2") // the input
                .addLayer("c3", new ConvolutionLayer.Builder(1, 1).nOut(8).build(), "c0")
                .addVertex("s3", new ElementWiseVertex(ElementWiseVertex.Op.Add), "c3", "r1") // r1's buffer
                .addLayer("gp", new GlobalPoolingLayer.Builder(PoolingType.MAX).build(), "s3")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "gp")
                .setOutputs("out", "s2", "s3").build());
        net.init();
        CompiledGraphTest.randomised(net, 9);
        for (String layout : new String[] {null, "nhwc"}) {
            if (layout != null) {
                System.setProperty("densenet4j.compiledLayout", layout);
            }
            try {
                CompiledGraph compiled = CompiledGraph.compile(net);
                for (long batch : new long[] {1, 3}) {
                    INDArray x = CompiledGraphTest.input(new long[] {batch, 8, 9, 11}, 10 + batch);
                    INDArray[] expected = net.output(false, x);
                    INDArray[] actual = compiled.output(x);
                    for (int i = 0; i < expected.length; i++) {
                        CompiledGraphTest.assertClose(expected[i], actual[i], compiled.layout() + " output " + i);
                    }
                }
                List<String> steps = compiled.describe(3, 8, 9, 11);
                assertTrue(steps.stream().noneMatch(s -> s.startsWith("s")), String.join("\n", steps));
            } finally {
                System.clearProperty("densenet4j.compiledLayout");
            }
        }
    }

    @Test
    void otherElementwiseOperationsAreStillRefusedByName() {
        for (ElementWiseVertex.Op op : new ElementWiseVertex.Op[] {ElementWiseVertex.Op.Subtract,
            ElementWiseVertex.Op.Product, ElementWiseVertex.Op.Average, ElementWiseVertex.Op.Max}) {
            ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder()
                    .dataType(DataType.FLOAT).activation(Activation.IDENTITY).graphBuilder().addInputs("in")
                    .setInputTypes(InputType.convolutional(8, 8, 2))
                    .addLayer("c", new ConvolutionLayer.Builder(1, 1).nOut(2).build(), "in")
                    .addLayer("d", new ConvolutionLayer.Builder(1, 1).nOut(2).build(), "in")
                    .addVertex("combine", new ElementWiseVertex(op), "c", "d")
                    .addLayer("gp", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "combine")
                    .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(2)
                            .activation(Activation.SOFTMAX).build(), "gp")
                    .setOutputs("out").build());
            net.init();
            var inference = assertThrows(UnsupportedOperationException.class, () -> CompiledGraph.compile(net));
            assertTrue(inference.getMessage().contains("'combine' (ElementWiseVertex " + op), inference.getMessage());
            var training = assertThrows(UnsupportedOperationException.class, () -> CompiledTrainer.compile(net));
            assertTrue(training.getMessage().contains("'combine' for training (ElementWiseVertex " + op),
                    training.getMessage());
            assertTrue(CompiledGraph.tryCompile(net).isEmpty() && CompiledTrainer.tryCompile(net).isEmpty(), op.name());
        }
    }

    /** One batch's gradients and score: DL4J's {@code computeGradientAndScore} against the trainer's. */
    private static void compareGradients(ComputationGraph dl4j, int size, long seed) {
        ComputationGraph ours = dl4j.clone();
        DataSet batch = labelled(TinyNets.bars(4, size, seed), (int) dl4j.getLayer("fc").getParam("b").length());
        dl4j.setInputs(batch.getFeatures());
        dl4j.setLabels(batch.getLabels());
        dl4j.computeGradientAndScore();
        INDArray expected = dl4j.getFlattenedGradients().dup();
        CompiledTrainer trainer = CompiledTrainer.compile(ours);
        ours.getFlattenedGradients().assign(Float.NaN); // every entry must be written
        double score = trainer.computeGradientAndScore(batch.getFeatures(), batch.getLabels());
        assertEquals(dl4j.score(), score, 1e-5 * Math.max(1, Math.abs(score)));
        assertGradientsClose(dl4j, expected, ours.getFlattenedGradients());
        assertEquals(dl4j.params(), ours.params(), "parameters untouched");
        dl4j.close();
        ours.close();
    }

    /**
     * Each parameter's gradient within 1e-3 of DL4J's, relative to its largest magnitude; for the bias
     * of a convolution that only batch norms read, relative to its weights' gradient instead: the
     * batch norm takes out any constant per channel, so that bias's exact gradient is zero and both
     * sides hold float noise in proportion to the gradients through the convolution.
     */
    private static void assertGradientsClose(ComputationGraph net, INDArray expected, INDArray actual) {
        var conf = net.getConfiguration();
        for (org.deeplearning4j.nn.api.Layer layer : net.getLayers()) {
            String name = layer.conf().getLayer().getLayerName();
            boolean beforeNorm = layer.conf().getLayer() instanceof ConvolutionLayer
                    && conf.getVertexInputs().entrySet().stream().filter(e -> e.getValue().contains(name))
                    .allMatch(e -> conf.getVertices().get(e.getKey())
                            instanceof org.deeplearning4j.nn.conf.graph.LayerVertex v
                            && v.getLayerConf().getLayer() instanceof BatchNormalization);
            double weightScale = beforeNorm ? slice(net, expected, name, "W").amaxNumber().doubleValue() : 0;
            for (String key : layer.paramTable().keySet()) {
                INDArray x = slice(net, expected, name, key);
                double scale = beforeNorm && key.equals("b") ? weightScale
                        : Math.max(x.amaxNumber().doubleValue(), 1e-6);
                double diff = x.sub(slice(net, actual, name, key)).amaxNumber().doubleValue();
                assertTrue(diff <= 1e-3 * scale, "gradient of " + name + "_" + key + ": off by " + diff
                        + " at scale " + scale);
            }
        }
    }

    /** Parameter {@code key} of layer {@code layer}'s part of {@code flat} (parameters or gradients). */
    private static INDArray slice(ComputationGraph net, INDArray flat, String layer, String key) {
        INDArray p = net.getLayer(layer).getParam(key);
        long offset = TrainingPlan.offsetBytes(net, layer, key) / 4;
        return flat.reshape(flat.length()).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(offset,
                offset + p.length()));
    }

    /** {@code batch}'s features with one-hot labels over {@code classes}, seeded by the batch size. */
    private static DataSet labelled(DataSet batch, int classes) {
        long n = batch.getFeatures().size(0);
        INDArray y = org.nd4j.linalg.factory.Nd4j.zeros(DataType.FLOAT, n, classes);
        java.util.Random rnd = new java.util.Random(n * 31 + classes);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, rnd.nextInt(classes), 1);
        }
        return new DataSet(batch.getFeatures(), y);
    }
}
