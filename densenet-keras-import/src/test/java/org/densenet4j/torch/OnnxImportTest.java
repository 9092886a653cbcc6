package org.densenet4j.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import onnx.Onnx;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.io.Npy;
import org.densenet4j.keras.KerasDenseNetImporter;
import org.densenet4j.keras.WeightFileSummary;
import org.densenet4j.keras.WeightImportException;
import org.densenet4j.keras.WeightLayout;
import org.densenet4j.onnx.OnnxExport;
import org.densenet4j.testing.RandomParameters;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * ONNX DenseNets read into the zoo's graph: torchvision's as torch.onnx exports it (the committed
 * fixture of {@code tools/fixtures/make_onnx_fixtures.py}: torchvision's own log-probabilities,
 * batch norms folded into convolutions by torch), with initializers as raw_data or float_data and
 * through Identity nodes; DenseNet4J's own exports back (the same outputs, the card's
 * preprocessing and labels); and refusals that name what is wrong.
 */
class OnnxImportTest {

    /** torchvision's densenet-tiny (k=4, 8 initial filters, blocks 2/2/2, 5 classes) at 32x32, batch 2. */
    static final Path FIXTURE = Path.of("src/test/resources/onnx/densenet-tiny");

    @TempDir
    Path dir;

    static Path fixture() {
        return FIXTURE.resolve("densenet-tiny.onnx");
    }

    static DenseNetConfig tinyConfig() throws Exception {
        return KerasDenseNetImporter.inspect(fixture()).toConfig().inputShape(32, 32, 3).build();
    }

    @Test
    void torchvisionsExportComputesWhatTorchvisionComputes() throws Exception {
        WeightFileSummary s = KerasDenseNetImporter.inspect(fixture());
        assertEquals(WeightLayout.TORCHVISION, s.layout());
        assertEquals("DenseNet k=4, 8 initial filters, blocks 2/2/2, compression 0.5", s.describe());
        assertEquals(5, s.classes().getAsInt());
        ComputationGraph net = KerasDenseNetImporter.load(fixture(), tinyConfig());
        INDArray x = Npy.read(FIXTURE.resolve("x.npy"));
        INDArray expected = Npy.read(FIXTURE.resolve("logp.npy")); // torchvision 0.14's forward, make_onnx_fixtures.py
        double d = maxDifference(expected, Transforms.log(net.outputSingle(false, x), true));
        System.out.printf("torchvision's ONNX export: max |log p - log p_torch| = %.2e%n", d);
        assertTrue(d <= 1e-4, "max |log p - log p_torch| = " + d);
        assertEquals(1e-5, ((org.deeplearning4j.nn.conf.layers.BatchNormalization) net.getLayer("conv1_bn").conf()
                .getLayer()).getEps(), 1e-12, "the file's epsilon");
    }

    @Test
    void floatDataAndIdentityAliasesReadAsRawData() throws Exception {
        float[] raw = KerasDenseNetImporter.load(fixture(), tinyConfig()).params().toFloatVector();
        Path floatData = rewrite("float-data.onnx", m -> {
            Onnx.ModelProto.Builder b = m.toBuilder();
            for (Onnx.TensorProto.Builder t : b.getGraphBuilder().getInitializerBuilderList()) {
                if (t.getDataType() == Onnx.TensorProto.DataType.FLOAT_VALUE) {
                    java.nio.FloatBuffer f = t.getRawData().asReadOnlyByteBuffer()
                            .order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                    t.clearRawData();
                    while (f.hasRemaining()) {
                        t.addFloatData(f.get());
                    }
                }
            }
            // the classifier's weight through an Identity node, as torch.onnx writes shared initializers
            Onnx.GraphProto.Builder g = b.getGraphBuilder();
            g.addNode(0, Onnx.NodeProto.newBuilder().setOpType("Identity").setName("alias")
                    .addInput("classifier.weight").addOutput("classifier.weight.alias"));
            for (Onnx.NodeProto.Builder n : g.getNodeBuilderList()) {
                if (n.getOpType().equals("Gemm")) {
                    n.setInput(1, "classifier.weight.alias");
                }
            }
            return b.build();
        });
        assertArrayEquals(raw, KerasDenseNetImporter.load(floatData, tinyConfig()).params().toFloatVector());
    }

    @Test
    void denseNet121ExportedAndReadBackGivesTheSameOutputs() throws Exception {
        DenseNetConfig config = DenseNetPreset.DENSENET121.config();
        ComputationGraph net = RandomParameters.randomise(DenseNetZooModel.of(DenseNetPreset.DENSENET121).init(), 21);
        net.getLayer("fc6").getParam("W").muli(5); // peaked outputs
        Path onnx = dir.resolve("d121.onnx");
        ModelCard card = new ModelCard("caffe", 224, 224, 3, java.util.Collections.nCopies(1000, "a class"),
                Map.of());
        OnnxExport.write(net, onnx, OnnxExport.Options.defaults().withInputSize(224, 224).withCard(card));
        WeightFileSummary s = KerasDenseNetImporter.inspect(onnx);
        assertEquals(DenseNetPreset.DENSENET121, s.preset().orElseThrow());
        ComputationGraph back = KerasDenseNetImporter.load(onnx, config);
        Nd4j.getRandom().setSeed(22);
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 224, 224).subi(0.5).muli(2);
        double d = maxDifference(Transforms.log(net.outputSingle(false, x), true),
                Transforms.log(back.outputSingle(false, x), true));
        System.out.printf("densenet121 exported and read back: max |d log p| = %.2e%n", d);
        assertTrue(d <= 1e-5, "max |d log p| = " + d);
        ModelCard read = KerasDenseNetImporter.card(onnx, s.layout(), config);
        assertEquals("caffe", read.preprocessing(), "the exported card's preprocessing");
        assertEquals(card.labels(), read.labels());
    }

    @Test
    void cifarAndHeadlessExportsReadBack() throws Exception {
        // the CIFAR stem, batch norms kept after each bottleneck, pooled features without fc6
        DenseNetConfig bc = DenseNetConfig.builder().stem(DenseNetConfig.Stem.CIFAR).growthRate(6)
                .initialFilters(12).blockLayers(3, 2).bottleneck(true).compression(0.5).numClasses(4)
                .inputShape(20, 20, 3).build();
        DenseNetConfig plain = bc.toBuilder().bottleneck(false).compression(1.0).headless(DenseNetConfig.Pooling.AVG)
                .build();
        ComputationGraph max = new DenseNetZooModel("m", bc.toBuilder().headless(DenseNetConfig.Pooling.MAX).build())
                .init();
        Path maxFile = dir.resolve("max.onnx");
        OnnxExport.write(max, maxFile, OnnxExport.Options.defaults().withInputSize(20, 20));
        WeightImportException e = assertThrows(WeightImportException.class,
                () -> KerasDenseNetImporter.inspect(maxFile));
        assertTrue(e.getMessage().contains("pools the features by their maximum"), e.getMessage());
        for (DenseNetConfig config : List.of(bc, plain)) {
            ComputationGraph net = RandomParameters.randomise(new DenseNetZooModel("t", config).init(), 23);
            Path onnx = dir.resolve("t.onnx");
            OnnxExport.write(net, onnx, OnnxExport.Options.defaults().withDynamicSize(true).withOpset(17));
            ComputationGraph back = KerasDenseNetImporter.load(onnx, config);
            Nd4j.getRandom().setSeed(24);
            INDArray x = Nd4j.rand(DataType.FLOAT, 3, 3, 20, 20);
            double d = maxDifference(net.outputSingle(false, x), back.outputSingle(false, x));
            assertTrue(d <= 1e-5, config.includeTop() + ": max difference " + d);
        }
    }

    @Test
    void externalDataIsRefusedByName() throws Exception {
        Path external = rewrite("external.onnx", m -> {
            Onnx.ModelProto.Builder b = m.toBuilder();
            Onnx.TensorProto.Builder t = b.getGraphBuilder().getInitializerBuilder(0);
            t.clearRawData().setDataLocation(Onnx.TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(Onnx.StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin"));
            return b.build();
        });
        WeightImportException e = assertThrows(WeightImportException.class,
                () -> KerasDenseNetImporter.inspect(external));
        assertTrue(e.getMessage().contains("keeps its values in an external file ('w.bin')")
                && e.getMessage().contains("save_as_external_data=False"), e.getMessage());
    }

    @Test
    void hostileFilesGetNamedErrors() throws Exception {
        Map<String, UnaryOperator<Onnx.ModelProto>> cases = new java.util.LinkedHashMap<>();
        cases.put("is an operator no DenseNet has", m -> node(m, "Relu", 3, n -> n.setOpType("Sigmoid")));
        cases.put("has strides [2, 2], expected [1, 1]", m -> node(m, "Conv", 2, n -> n.setAttribute(
                attributeIndex(n, "strides"), Onnx.AttributeProto.newBuilder().setName("strides")
                        .setType(Onnx.AttributeProto.AttributeType.INTS).addInts(2).addInts(2))));
        cases.put("holds 2304 bytes of raw data for 1152 values", m -> initializer(m,
                "features.denseblock1.denselayer1.conv2.weight", t -> t.setDims(0, 8)));
        cases.put("claims dimensions [1048576, 1048576, 3, 3]", m -> initializer(m,
                "features.denseblock1.denselayer1.conv2.weight", t -> t.setDims(0, 1 << 20).setDims(1, 1 << 20)));
        cases.put("holds double values", m -> initializer(m, "classifier.bias",
                t -> t.setDataType(Onnx.TensorProto.DataType.DOUBLE_VALUE)));
        cases.put("which no earlier node, initializer or input makes", m -> node(m, "Relu", 0,
                n -> n.setInput(0, n.getOutput(0)))); // a cycle
        cases.put("has epsilon", m -> node(m, "BatchNormalization", 2, n -> n.addAttribute(
                Onnx.AttributeProto.newBuilder().setName("epsilon").setType(Onnx.AttributeProto.AttributeType.FLOAT)
                        .setF(1e-3f))));
        cases.put("reads 3 concatenated feature maps where its dense layer should read", m -> node(m, "Concat", 1,
                n -> n.addInput(n.getInput(0))));
        for (var c : cases.entrySet()) {
            Path bad = rewrite("bad.onnx", c.getValue());
            WeightImportException e = assertThrows(WeightImportException.class,
                    () -> KerasDenseNetImporter.load(bad, tinyConfig()), c.getKey());
            assertTrue(e.getMessage().startsWith(bad.toString()) && e.getMessage().contains(c.getKey()),
                    c.getKey() + " -> " + e.getMessage());
        }
        byte[] whole = Files.readAllBytes(fixture());
        Path truncated = Files.write(dir.resolve("truncated.onnx"), java.util.Arrays.copyOf(whole, whole.length / 2));
        WeightImportException t = assertThrows(WeightImportException.class,
                () -> KerasDenseNetImporter.inspect(truncated));
        assertTrue(t.getMessage().contains("not a readable ONNX file"), t.getMessage());
    }

    /** The fixture changed by {@code change}, written to {@code name}. */
    private Path rewrite(String name, UnaryOperator<Onnx.ModelProto> change) throws Exception {
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(fixture()));
        return Files.write(dir.resolve(name), change.apply(m).toByteArray());
    }

    /** The model with the {@code index}-th node of type {@code op} changed. */
    private static Onnx.ModelProto node(Onnx.ModelProto m, String op, int index,
                                        java.util.function.Consumer<Onnx.NodeProto.Builder> change) {
        Onnx.ModelProto.Builder b = m.toBuilder();
        int seen = 0;
        for (Onnx.NodeProto.Builder n : b.getGraphBuilder().getNodeBuilderList()) {
            if (n.getOpType().equals(op) && seen++ == index) {
                change.accept(n);
                return b.build();
            }
        }
        throw new IllegalArgumentException("no " + op + " node " + index);
    }

    private static Onnx.ModelProto initializer(Onnx.ModelProto m, String name,
                                               java.util.function.Consumer<Onnx.TensorProto.Builder> change) {
        Onnx.ModelProto.Builder b = m.toBuilder();
        for (Onnx.TensorProto.Builder t : b.getGraphBuilder().getInitializerBuilderList()) {
            if (t.getName().equals(name)) {
                change.accept(t);
                return b.build();
            }
        }
        throw new IllegalArgumentException("no initializer " + name);
    }

    private static int attributeIndex(Onnx.NodeProto.Builder n, String name) {
        for (int i = 0; i < n.getAttributeCount(); i++) {
            if (n.getAttribute(i).getName().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no attribute " + name);
    }

    private static double maxDifference(INDArray a, INDArray b) {
        assertArrayEquals(a.shape(), b.shape());
        return Transforms.abs(a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE))).maxNumber().doubleValue();
    }
}
