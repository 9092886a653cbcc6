package org.densenet4j.cli;

import static org.densenet4j.cli.Cli.assertBadInput;
import static org.densenet4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import onnx.Onnx;
import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;

/**
 * {@code densenet export}: the file a model zip or an untrained preset becomes (names, shapes,
 * metadata; that ONNX Runtime computes what the graph computes is densenet-zoo's
 * OnnxExportTest/DenseNetOnnxAgreementTest), and one-line errors that leave no file.
 */
class ExportCommandTest {

    @TempDir
    Path dir;

    @BeforeEach
    void emptyZooCache() throws Exception {
        DL4JResources.setBaseDirectory(Files.createDirectories(dir.resolve("cache")).toFile());
    }

    @AfterEach
    void resetZooCache() {
        DL4JResources.resetBaseDirectoryLocation();
    }

    private static DenseNetConfig.Builder tiny() {
        return DenseNetConfig.builder().stem(DenseNetConfig.Stem.CIFAR).growthRate(4).initialFilters(8)
                .blockLayers(2, 2).bottleneck(true).compression(0.5).numClasses(3).inputShape(32, 32, 3).seed(7);
    }

    @Test
    void aModelZipWithItsCardPreprocessingAndLabels() throws Exception {
        Path zip = dir.resolve("tiny.zip");
        ModelFiles.write(new DenseNetZooModel("tiny", tiny().build()).init(), zip, false, null, Map.of(), false,
                new ModelCard("caffe", 40, 36, 3, List.of("ant", "bee", "wild cat"), Map.of("file", "w.h5")));
        Path onnx = dir.resolve("tiny.onnx");
        Cli.Run r = run("export", "--model", zip.toString(), "--format", "onnx", "--out", onnx.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("input 'data' [batch, 3, 40, 36], outputs [fc6]"), r.out());
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(onnx));
        assertEquals(13, m.getOpsetImport(0).getVersion());
        assertEquals(List.of("batch", "3", "40", "36"), dims(m.getGraph().getInput(0)));
        assertEquals("fc6", m.getGraph().getOutput(0).getName());
        assertEquals(List.of("batch", "3"), dims(m.getGraph().getOutput(0)));
        Map<String, String> meta = metadata(m);
        assertEquals("caffe", meta.get("preprocessing"));
        assertEquals("40x36x3", meta.get("input_size"));
        assertEquals("[\"ant\",\"bee\",\"wild cat\"]", meta.get("labels"));
        assertEquals("w.h5", meta.get("source.file"));
        // ImageNetPreprocessor.Mode.CAFFE: BGR, minus the Caffe-converted weights' means, times 0.017
        assertEquals("BGR", meta.get("preprocessing_channels"));
        assertEquals("[103.94, 116.78, 123.68]", meta.get("preprocessing_mean"));
        assertTrue(meta.get("preprocessing_std").startsWith("[58.8235"), meta.get("preprocessing_std"));

        // A trained model's stored scaling, spelled out; its open size.
        Path trained = dir.resolve("trained.zip");
        ModelFiles.write(new DenseNetZooModel("tiny", tiny().inputShape(28, 28, 1).build()).init(), trained, false,
                new ImagePreProcessingScaler(0, 1), Map.of(), false,
                new ModelCard(ModelCard.STORED, 28, 28, 1, List.of("a", "b", "c"), Map.of()));
        Path open = dir.resolve("open.onnx");
        assertEquals(0, run("export", "--model", trained.toString(), "--out", open.toString(), "--dynamic-size",
                "--opset", "17").code());
        Onnx.ModelProto o = Onnx.ModelProto.parseFrom(Files.readAllBytes(open));
        assertEquals(17, o.getOpsetImport(0).getVersion());
        assertEquals(List.of("batch", "1", "height", "width"), dims(o.getGraph().getInput(0)));
        assertEquals("stored", metadata(o).get("preprocessing"));
        assertEquals("[0.0]", metadata(o).get("preprocessing_mean"));
        assertEquals("[255.0]", metadata(o).get("preprocessing_std"));
    }

    @Test
    void anUntrainedPresetOfAnySizeAndHead() throws Exception {
        Path onnx = dir.resolve("bc.onnx");
        Cli.Run r = run("export", "--model", "densenet-bc100-k12", "--untrained", "--input", "40x48x3",
                "--headless", "none", "--out", onnx.toString());
        assertEquals(0, r.code(), r.err());
        Onnx.ModelProto m = Onnx.ModelProto.parseFrom(Files.readAllBytes(onnx));
        assertEquals(List.of("batch", "3", "40", "48"), dims(m.getGraph().getInput(0)));
        assertEquals("relu4_blk", m.getGraph().getOutput(0).getName());
        assertEquals(List.of("batch", "342", "10", "12"), dims(m.getGraph().getOutput(0)));
        assertTrue(metadata(m).get("weights").startsWith("untrained"), metadata(m).toString());

        Path d2l = dir.resolve("d2l.onnx");
        assertEquals(0, run("export", "--model", "densenet-d2l", "--untrained", "--classes", "7", "--out",
                d2l.toString()).code());
        Onnx.ModelProto d = Onnx.ModelProto.parseFrom(Files.readAllBytes(d2l));
        assertEquals(List.of("batch", "1", "96", "96"), dims(d.getGraph().getInput(0)));
        assertEquals(List.of("batch", "7"), dims(d.getGraph().getOutput(0)));
    }

    @Test
    void badInputIsOneLineAndWritesNothing() throws Exception {
        Path onnx = dir.resolve("x.onnx");
        assertBadInput(run("export", "--model", "densenet-bc100-k12", "--out", onnx.toString()),
                "No pretrained", "export its architecture with --untrained");
        assertBadInput(run("export", "--model", "densenet121", "--classes", "10", "--out", onnx.toString()),
                "use them with --untrained");
        assertBadInput(run("export", "--model", "densenet121", "--untrained", "--format", "tflite", "--out",
                onnx.toString()), "--format tflite is not written");
        assertBadInput(run("export", "--model", "densenet121", "--untrained", "--opset", "12", "--out",
                onnx.toString()), "--opset 12 is not written; use 13 to 18");
        assertBadInput(run("export", "--model", "densenet121", "--untrained", "--headless", "sum", "--out",
                onnx.toString()), "--headless sum is not avg, max or none");
        assertBadInput(run("export", "--model", "densenet121", "--untrained", "--input", "8x8x3", "--out",
                onnx.toString()), "inputHeight 8 is too small");
        assertFalse(Files.exists(onnx));
        Files.writeString(onnx, "precious");
        assertBadInput(run("export", "--model", "densenet-d2l", "--untrained", "--out", onnx.toString()),
                "x.onnx: exists; pass --force to replace it");
        assertEquals("precious", Files.readString(onnx));
        assertEquals(0, run("export", "--model", "densenet-d2l", "--untrained", "--out", onnx.toString(),
                "--force").code());
        assertFalse(Files.readString(onnx, java.nio.charset.StandardCharsets.ISO_8859_1).equals("precious"));
        try (var files = Files.list(dir)) {
            assertEquals(List.of("cache", "x.onnx"), files.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void anExportedModelConvertsBackAndTorchvisionsExportConverts() throws Exception {
        Path onnx = dir.resolve("net.onnx");
        assertEquals(0, run("export", "--model", "densenet121", "--untrained", "--format", "onnx", "--out",
                onnx.toString()).code());
        Path zip = dir.resolve("back.zip");
        Cli.Run c = run("convert", "--weights", onnx.toString(), "--model", "densenet121", "--out", zip.toString());
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("(densenet121)") && c.out().contains("1000 classes"), c.out());
        ComputationGraph exported = new DenseNetZooModel(DenseNetPreset.DENSENET121, b -> b).init();
        ComputationGraph back = ModelFiles.read(zip, true);
        assertArrayEquals(exported.params().toFloatVector(), back.params().toFloatVector(),
                "the untrained weights (seed 12345) back, bit for bit");

        // torchvision's tiny DenseNet as torch.onnx exports it (densenet-keras-import's committed fixture)
        Path tv = dir.resolve("tiny.onnx");
        try (var in = getClass().getResourceAsStream("/onnx/densenet-tiny/densenet-tiny.onnx")) {
            Files.copy(in, tv);
        }
        Path tiny = dir.resolve("tiny.zip");
        Cli.Run t = run("convert", "--weights", tv.toString(), "--out", tiny.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("k=4, 8 initial filters, blocks 2/2/2") && t.out().contains("5 classes"), t.out());

        byte[] bytes = Files.readAllBytes(tv);
        Path cut = Files.write(dir.resolve("cut.onnx"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertBadInput(run("convert", "--weights", cut.toString(), "--out", dir.resolve("cut.zip").toString()),
                "cut.onnx: not a readable ONNX file");
        assertFalse(Files.exists(dir.resolve("cut.zip")), "no zip from a damaged file");
    }

    private static Map<String, String> metadata(Onnx.ModelProto m) {
        return m.getMetadataPropsList().stream().collect(Collectors.toMap(Onnx.StringStringEntryProto::getKey,
                Onnx.StringStringEntryProto::getValue));
    }

    private static List<String> dims(Onnx.ValueInfoProto v) {
        return v.getType().getTensorType().getShape().getDimList().stream()
                .map(d -> d.hasDimValue() ? String.valueOf(d.getDimValue()) : d.getDimParam()).toList();
    }
}
