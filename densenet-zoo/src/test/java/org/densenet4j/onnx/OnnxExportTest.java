package org.densenet4j.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.TensorInfo;
import onnx.Onnx;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.graph.MergeVertex;
import org.deeplearning4j.nn.conf.graph.ScaleVertex;
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
import org.deeplearning4j.nn.conf.layers.ZeroPaddingLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.testing.RandomParameters;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.densenet4j.zoo.io.ModelCard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * The ONNX export on small graphs, run by ONNX Runtime against DL4J's own output(): every kind of
 * vertex it maps (each DL4J convolution and pooling mode, batch norms with log-std, locked or
 * random statistics and a large epsilon, frozen layers, element-wise vertices), two opsets, open
 * and fixed sizes; the file's names, shapes and metadata; refusals that name the vertex.
 */
class OnnxExportTest {

    @TempDir
    Path dir;

    /** A graph with every kind of vertex and layer setting the export maps, on 3-channel images. */
    static ComputationGraph everyKind() {
        ComputationGraph net = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .seed(5).dataType(DataType.FLOAT).activation(Activation.IDENTITY)
                .graphBuilder()
                .addInputs("in")
                .setInputTypes(InputType.convolutional(19, 23, 3))
                .addLayer("c1", new ConvolutionLayer.Builder(3, 3).nOut(8).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).activation(Activation.RELU).build(), "in")
                // eps this large makes a misplaced epsilon visible
                .addLayer("bn_log", new BatchNormalization.Builder().useLogStd(true).eps(0.3).build(), "c1")
                .addLayer("c2", new ConvolutionLayer.Builder(1, 1).nOut(8).hasBias(true).build(), "bn_log")
                .addLayer("bn_locked", new BatchNormalization.Builder().lockGammaBeta(true).gamma(1.5).beta(-0.2)
                        .useLogStd(false).build(), "c2")
                .addLayer("relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), "bn_locked")
                .addLayer("same", new ActivationLayer.Builder().activation(Activation.IDENTITY).build(), "relu")
                .addLayer("drop", new DropoutLayer.Builder(0.5).build(), "same")
                .addLayer("maxpad", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                        .padding(1, 1).build(), "drop")
                .addLayer("avgpad", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(1, 1)
                        .padding(1, 1).avgPoolIncludePadInDivisor(true).build(), "drop")
                .addLayer("avgpadex", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(1, 1)
                        .padding(1, 1).avgPoolIncludePadInDivisor(false).build(), "drop")
                .addLayer("avgsame", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(2, 2).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).avgPoolIncludePadInDivisor(false).build(), "drop")
                .addLayer("avgsamein", new SubsamplingLayer.Builder(PoolingType.AVG).kernelSize(3, 3).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).avgPoolIncludePadInDivisor(true).build(), "drop")
                .addLayer("maxsame", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                        .convolutionMode(ConvolutionMode.Same).build(), "drop")
                .addVertex("sum", new ElementWiseVertex(ElementWiseVertex.Op.Add), "avgsame", "avgsamein",
                        "maxsame")
                .addVertex("diff", new ElementWiseVertex(ElementWiseVertex.Op.Subtract), "avgpad", "avgpadex")
                .addVertex("prod", new ElementWiseVertex(ElementWiseVertex.Op.Product), "avgpad", "avgpadex", "drop")
                .addVertex("mean", new ElementWiseVertex(ElementWiseVertex.Op.Average), "diff", "prod")
                .addVertex("max", new ElementWiseVertex(ElementWiseVertex.Op.Max), "mean", "avgpad")
                .addVertex("scaled", new ScaleVertex(0.75), "max")
                .addLayer("zpad", new ZeroPaddingLayer.Builder(1, 2, 0, 3).build(), "scaled")
                .addLayer("c3", new ConvolutionLayer.Builder(3, 3).nOut(8).padding(1, 1).stride(2, 1)
                        .activation(Activation.LEAKYRELU).build(), "zpad")
                .addLayer("dil", new ConvolutionLayer.Builder(3, 3).nOut(4).dilation(2, 2).padding(2, 2)
                        .activation(Activation.SIGMOID).build(), "drop")
                .addLayer("pre", new ActivationLayer.Builder().activation(Activation.TANH).build(), "avgpad")
                .addLayer("bn_shared", new BatchNormalization.Builder().useLogStd(false).build(), "c3")
                .addLayer("c4", new ConvolutionLayer.Builder(2, 2).stride(2, 2).nOut(8).build(), "pre")
                .addLayer("frozen", new FrozenLayer(new ConvolutionLayer.Builder(1, 1).nIn(8).nOut(8)
                        .activation(Activation.IDENTITY).build()), "c4")
                .addVertex("merge", new MergeVertex(), "frozen", "sum", "maxpad")
                .addLayer("gmax", new GlobalPoolingLayer.Builder(PoolingType.MAX).build(), "merge")
                .addLayer("gavg", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "bn_shared")
                .addLayer("gkeep", new GlobalPoolingLayer.Builder(PoolingType.AVG).collapseDimensions(false).build(),
                        "dil")
                .addLayer("hidden", new DenseLayer.Builder().nOut(6).activation(Activation.TANH).build(), "gmax")
                .addLayer("bn_flat", new BatchNormalization.Builder().useLogStd(false).build(), "hidden")
                .addLayer("out", new OutputLayer.Builder(LossFunction.MCXENT).nOut(4)
                        .activation(Activation.SOFTMAX).build(), "bn_flat")
                .setOutputs("out", "gavg", "bn_shared", "c2", "gkeep")
                .build());
        net.init();
        return RandomParameters.randomise(net, 6);
    }

    @ParameterizedTest
    @ValueSource(ints = {OnnxExport.MIN_OPSET, OnnxExport.MAX_OPSET})
    void everyKindOfVertexAgreesWithTheGraph(int opset) throws Exception {
        ComputationGraph net = everyKind();
        Path file = dir.resolve("every.onnx");
        OnnxExport.write(net, file, OnnxExport.Options.defaults().withOpset(opset).withDynamicSize(true));
        try (Ort ort = new Ort(file)) {
            for (long[] shape : new long[][] {{2, 3, 19, 23}, {1, 3, 16, 20}}) {
                INDArray x = input(shape, 8);
                INDArray[] expected = net.output(false, x);
                Map<String, INDArray> actual = ort.run("in", x);
                assertEquals(List.of("out", "gavg", "bn_shared", "c2", "gkeep"), List.copyOf(actual.keySet()));
                int i = 0;
                for (String name : actual.keySet()) {
                    assertClose(expected[i++], actual.get(name), name + " at " + java.util.Arrays.toString(shape));
                }
            }
        }
    }

    @Test
    void aFixedSizeIsDeclaredAndTheOutputsShapesWithIt() throws Exception {
        ComputationGraph net = everyKind();
        Onnx.ModelProto model = OnnxExport.model(net, OnnxExport.Options.defaults().withInputSize(19, 23));
        assertEquals(7, model.getIrVersion());
        assertEquals(13, model.getOpsetImport(0).getVersion());
        assertEquals(List.of("batch", "3", "19", "23"), dims(model.getGraph().getInput(0)));
        assertEquals(List.of("batch", "4"), dims(model.getGraph().getOutput(0)));
        assertEquals(List.of("batch", "8", "7", "15"), dims(model.getGraph().getOutput(2))); // bn_shared
        Path file = dir.resolve("fixed.onnx");
        OnnxExport.write(net, file, OnnxExport.Options.defaults().withInputSize(19, 23));
        try (Ort ort = new Ort(file)) {
            INDArray x = input(new long[] {3, 3, 19, 23}, 9);
            assertClose(net.output(false, x)[2], ort.run("in", x).get("bn_shared"), "bn_shared");
        }
    }

    @Test
    void namesShapesAndTheCardInTheFile() throws Exception {
        ComputationGraph net = RandomParameters.randomise(new DenseNetZooModel("tiny", TinyNets.tinyBc().build())
                .init(), 3);
        ModelCard card = new ModelCard("none", 12, 12, 1, List.of("top bar", "bottom \"bar\""),
                Map.of("trained", "bars"));
        Path file = dir.resolve("tiny.onnx");
        OnnxExport.write(net, file, OnnxExport.Options.defaults().withCard(card)
                .withMetadata(Map.of("weights", "random")));
        try (Ort ort = new Ort(file)) {
            NodeInfo in = ort.session().getInputInfo().get("data");
            assertArrayEquals(new long[] {-1, 1, 12, 12}, ((TensorInfo) in.getInfo()).getShape());
            assertEquals(List.of("data"), List.copyOf(ort.session().getInputNames()));
            assertEquals(List.of("fc6"), List.copyOf(ort.session().getOutputNames()));
            Map<String, String> meta = ort.session().getMetadata().getCustomMetadata();
            assertEquals("none", meta.get("preprocessing"));
            assertEquals("12x12x1", meta.get("input_size"));
            assertEquals("[\"top bar\",\"bottom \\\"bar\\\"\"]", meta.get("labels"));
            assertEquals("bars", meta.get("source.trained"));
            assertEquals("random", meta.get("weights"));
            assertEquals(OnnxExport.PRODUCER, ort.session().getMetadata().getProducerName());
            for (int batch : new int[] {1, 3}) {
                INDArray x = input(new long[] {batch, 1, 12, 12}, batch);
                assertClose(net.outputSingle(false, x), ort.run("data", x).get("fc6"), "batch " + batch);
            }
        }
        Onnx.ModelProto model = Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        var initializers = model.getGraph().getInitializerList().stream().map(Onnx.TensorProto::getName).toList();
        assertTrue(initializers.containsAll(List.of("conv1.weight", "conv2_1_x1_bn.weight", "conv2_1_x1_bn.bias",
                "conv2_1_x1_bn.running_mean", "conv2_1_x1_bn.running_var", "fc6.weight", "fc6.bias")),
                initializers.toString());
        var fc6 = model.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("fc6.weight"))
                .findFirst().orElseThrow();
        assertEquals(List.of(2L, (long) net.getLayer("fc6").getParam("W").size(0)), fc6.getDimsList()); // [out, in]
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left beside it");
        }
    }

    @Test
    void batchNormsAreKeptAndOnnxRuntimeFoldsThoseAfterAConvolution() throws Exception {
        // Every bottleneck convolution feeds one batch norm: those are the ones ONNX Runtime's ConvBNFusion
        // (onnxruntime/core/optimizer/conv_bn_fusion.cc, a level-1 rewrite rule) folds; the rest follow a
        // concatenation or the input and stay.
        DenseNetConfig config = TinyNets.tinyBc().blockLayers(2, 3).build();
        ComputationGraph net = RandomParameters.randomise(new DenseNetZooModel("tiny", config).init(), 4);
        Path file = dir.resolve("bn.onnx");
        OnnxExport.write(net, file, OnnxExport.Options.defaults().withInputSize(12, 12));
        Onnx.ModelProto exported = Onnx.ModelProto.parseFrom(Files.readAllBytes(file));
        long norms = count(exported, "BatchNormalization");
        assertEquals(net.getConfiguration().getVertices().keySet().stream().filter(v -> v.endsWith("_bn")).count(),
                norms);
        Path optimised = dir.resolve("bn-optimised.onnx");
        new Ort(file, optimised).close();
        long bottlenecks = 2 + 3;
        assertEquals(norms - bottlenecks, count(Onnx.ModelProto.parseFrom(Files.readAllBytes(optimised)),
                "BatchNormalization"));
    }

    @Test
    void refusalsNameTheVertexAndLeaveNoFile() throws Exception {
        ComputationGraph nhwc = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .dataType(DataType.FLOAT).activation(Activation.IDENTITY).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(8, 8, 2, CNN2DFormat.NHWC))
                .addLayer("c", new ConvolutionLayer.Builder(1, 1).nOut(2).dataFormat(CNN2DFormat.NHWC).build(), "in")
                .setOutputs("c").build());
        nhwc.init();
        ComputationGraph pnorm = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .dataType(DataType.FLOAT).activation(Activation.IDENTITY).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(8, 8, 2))
                .addLayer("c", new ConvolutionLayer.Builder(1, 1).nOut(2).build(), "in")
                .addLayer("p", new SubsamplingLayer.Builder(PoolingType.PNORM).pnorm(2).kernelSize(2, 2).build(), "c")
                .setOutputs("p").build());
        pnorm.init();
        ComputationGraph softplus = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .dataType(DataType.FLOAT).activation(Activation.IDENTITY).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(8, 8, 2))
                .addLayer("c", new ConvolutionLayer.Builder(1, 1).nOut(2).activation(Activation.SOFTPLUS).build(),
                        "in")
                .setOutputs("c").build());
        softplus.init();
        ComputationGraph flat = new ComputationGraph(new NeuralNetConfiguration.Builder()
                .dataType(DataType.FLOAT).activation(Activation.IDENTITY).graphBuilder().addInputs("in")
                .setInputTypes(InputType.convolutional(8, 8, 2))
                .addLayer("c", new ConvolutionLayer.Builder(1, 1).nOut(2).build(), "in")
                .addLayer("d", new DenseLayer.Builder().nOut(3).build(), "c") // DL4J adds a preprocessor
                .setOutputs("d").build());
        flat.init();
        Map<ComputationGraph, String> cases = Map.of(
                nhwc, "cannot export vertex 'c' (ConvolutionLayer) to ONNX: NHWC has no mapping",
                pnorm, "cannot export vertex 'p' (SubsamplingLayer PNORM) to ONNX: PNORM pooling has no mapping",
                softplus, "cannot export vertex 'c' (ConvolutionLayer) to ONNX: activation softplus has no mapping",
                flat, "cannot export vertex 'd' (DenseLayer) to ONNX: input preprocessor CnnToFeedForwardPreProcessor");
        Path file = dir.resolve("refused.onnx");
        Files.writeString(file, "an earlier file");
        for (var c : cases.entrySet()) {
            Exception e = assertThrows(RuntimeException.class,
                    () -> OnnxExport.write(c.getKey(), file, OnnxExport.Options.defaults().withInputSize(8, 8)));
            assertTrue(e.getMessage().startsWith(c.getValue()), e.getMessage());
            assertEquals("an earlier file", Files.readString(file));
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
        ComputationGraph sized = everyKind();
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> OnnxExport.model(sized, OnnxExport.Options.defaults()));
        assertTrue(size.getMessage().contains("does not record its input size"), size.getMessage());
        assertThrows(IllegalArgumentException.class, () -> OnnxExport.Options.defaults().withOpset(12));
        assertFalse(Files.exists(dir.resolve("never.onnx")));
    }

    private static long count(Onnx.ModelProto model, String op) {
        return model.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(op)).count();
    }

    private static List<String> dims(Onnx.ValueInfoProto v) {
        return v.getType().getTensorType().getShape().getDimList().stream()
                .map(d -> d.hasDimValue() ? String.valueOf(d.getDimValue()) : d.getDimParam()).toList();
    }

    /** Equal to 1e-4 of the expected array's largest magnitude (and at least 1e-6 absolute). */
    static void assertClose(INDArray expected, INDArray actual, String what) {
        assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()), what);
        double scale = Math.max(expected.amaxNumber().doubleValue(), 1e-2);
        double diff = expected.castTo(DataType.FLOAT).sub(actual.castTo(DataType.FLOAT)).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, what + ": max difference " + diff + " at scale " + scale);
    }

    static INDArray input(long[] shape, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(2);
    }
}
