package org.densenet4j.keras;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a weight file can fail to fit gives an error naming the file, the layer and the shapes. */
class ImportErrorTest {

    private static final DenseNetConfig D121 = DenseNetPreset.DENSENET121.config();
    private static Path tf121;
    private static Path th121;
    private static Path keras2121;

    @TempDir
    Path tmp;

    @BeforeAll
    static void fixtures() throws Exception {
        tf121 = Fixtures.get("densenet121", "keras1-tf", 224, 224, 4).weights();
        th121 = Fixtures.get("densenet121", "keras1-th", 224, 224, 2).weights();
        keras2121 = Fixtures.get("densenet121", "keras2", 224, 224, 2).weights();
    }

    private static String failure(Path file, DenseNetConfig config, WeightLayout layout) {
        WeightImportException e = assertThrows(WeightImportException.class,
                () -> KerasDenseNetImporter.load(file, config, layout));
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), () -> "names the file: " + e.getMessage());
        return e.getMessage();
    }

    private static void assertContains(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "expected '" + part + "' in: " + message);
        }
    }

    @Test
    void anotherArchitectureIsNamed() throws Exception {
        Path f169 = Fixtures.get("densenet169", "keras1-tf", 160, 200, 2).weights();
        String msg = failure(f169, D121, null);
        assertContains(msg, "does not fit the graph (k=32, blocks 6/12/24/16, compression 0.5)",
                "it holds a DenseNet k=32, 64 initial filters, blocks 6/12/32/32, compression 0.5 (densenet169)",
                "layers of the file are not in the graph: conv4_25_x1_bn, conv4_25_x1, ");
    }

    @Test
    void aSmallerArchitectureListsTheMissingLayers() throws Exception {
        DenseNetConfig d169 = DenseNetPreset.DENSENET169.config();
        String msg = failure(tf121, d169, null);
        assertContains(msg, "(densenet121)", "layers of the graph are not in the file: conv4_25_x1_bn");
    }

    @Test
    void reductionZeroIsAShapeMismatchAtTheFirstTransition() {
        String msg = failure(tf121, D121.toBuilder().reduction(0.0).build(), null);
        assertContains(msg, "layer 'conv2_blk': kernel shape (1, 1, 256, 128) does not fit: "
                + "expected (1, 1, 256, 256) (kh, kw, in, out)");
    }

    @Test
    void wrongForcedOrderingIsAShapeMismatch() {
        String msg = failure(th121, D121, WeightLayout.KERAS1_TF);
        assertContains(msg,
                "layer 'conv1': kernel shape (64, 3, 7, 7) does not fit: expected (7, 7, 3, 64) (kh, kw, in, out)");
    }

    @Test
    void fewerClassesInTheGraphThanInTheFile() {
        String msg = failure(tf121, D121.toBuilder().numClasses(10).build(), null);
        assertContains(msg, "layer 'fc6': kernel shape (1024, 1000) does not fit: expected (1024, 10)");
    }

    @Test
    void missingLayer() throws Exception {
        Path f = Fixtures.mutated(tf121, "drop-conv3_7_x2", "drop", "conv3_7_x2");
        assertContains(failure(f, D121, null), "1 layers of the graph are not in the file: conv3_7_x2");
    }

    @Test
    void extraLayer() throws Exception {
        Path f = Fixtures.mutated(tf121, "extra-conv9_1_x1", "extra", "conv9_1_x1");
        assertContains(failure(f, D121, null), "1 layers of the file are not in the graph: conv9_1_x1");
    }

    @Test
    void resizedBatchNormWeight() throws Exception {
        Path f = Fixtures.mutated(tf121, "resize-conv1_bn", "resize", "conv1_bn", "conv1_bn_gamma:0");
        assertContains(failure(f, D121, null),
                "layer 'conv1_bn': weight 'conv1_bn_gamma:0' has shape (65,), expected (64,)");
    }

    @Test
    void resizedScaleWeight() throws Exception {
        Path f = Fixtures.mutated(tf121, "resize-conv2_3_x2_scale", "resize", "conv2_3_x2_scale",
                "conv2_3_x2_scale_beta:0");
        assertContains(failure(f, D121, null),
                "layer 'conv2_3_x2_scale': weight 'conv2_3_x2_scale_beta:0' has shape (129,), expected (128,)");
    }

    @Test
    void nonFiniteWeight() throws Exception {
        Path f = Fixtures.mutated(tf121, "nan-conv4_2_x1", "nan", "conv4_2_x1", "conv4_2_x1_W:0");
        assertContains(failure(f, D121, null), "layer 'conv4_2_x1': weight 'conv4_2_x1_W:0' holds NaN");
    }

    @Test
    void integerWeight() throws Exception {
        Path f = Fixtures.mutated(tf121, "int-fc6", "int", "fc6", "fc6_b:0");
        assertContains(failure(f, D121, null),
                "layer 'fc6': weight 'fc6_b:0' holds int values, expected float32 or float64");
    }

    @Test
    void headlessFileIntoAGraphWithTop() throws Exception {
        Path f = Fixtures.mutated(keras2121, "keras2-notop", "drop", "fc1000");
        assertContains(failure(f, D121, null), "layers of the graph are not in the file: fc6",
                "(the file has no classifier: build a headless graph to load it)");
        WeightFileSummary summary = KerasDenseNetImporter.inspect(f);
        assertTrue(summary.classes().isEmpty());
        var net = KerasDenseNetImporter.load(f, summary.toConfig().build(), null);
        assertEquals("pool5", net.getConfiguration().getNetworkOutputs().get(0));
    }

    @Test
    void aMissingKerasApplicationsWeightIsNamedWithWhatTheLayerTakes() throws Exception {
        Path f = Fixtures.mutated(keras2121, "keras2-no-variance", "drop-weight", "conv2_block3_1_bn",
                "conv2_block3_1_bn/moving_variance:0");
        assertContains(failure(f, D121, null), "layer 'conv2_block3_1_bn': holds gamma, beta, moving_mean but (the "
                + "graph's 'conv2_3_x2_bn') takes gamma, beta, moving_mean, moving_variance; missing: moving_variance");
    }

    @Test
    void anExtraKerasApplicationsWeightIsNamedWithWhatTheLayerTakes() throws Exception {
        Path f = Fixtures.mutated(keras2121, "keras2-conv-bias", "add-weight", "conv1/conv", "conv1/conv/bias:0", "64");
        assertContains(failure(f, D121, null), "layer 'conv1/conv': holds kernel, bias but (the graph's 'conv1') takes "
                + "kernel; not taken: bias");
    }

    @Test
    void aWeightOfNoRoleOrTwoOfOneAreNamed() throws Exception {
        Path f = Fixtures.mutated(keras2121, "keras2-momentum", "add-weight", "pool3_bn", "pool3_bn/momentum:0", "256");
        assertContains(failure(f, D121, null), "layer 'pool3_bn': has a weight 'pool3_bn/momentum:0' that no DenseNet "
                + "layer holds (their weights are kernel, bias, gamma, beta, moving_mean, moving_variance)");
        Path twice = Fixtures.mutated(keras2121, "keras2-two-gammas", "add-weight", "conv1/bn",
                "densenet121/conv1/bn/gamma:0", "64");
        assertContains(failure(twice, D121, null), "layer 'conv1/bn': holds two gamma weights, 'conv1/bn/gamma:0' and "
                + "'densenet121/conv1/bn/gamma:0'");
    }

    @Test
    void theOldNamingsLayersAreNamedAsTheFileNamesThem() throws Exception {
        Path old = Fixtures.keras2("densenet121", "old", "densenet121", 64, 64, 2).weights();
        Path f = Fixtures.mutated(old, "keras2-old-no-gamma", "drop-weight", "conv4/block7/0/bn",
                "densenet121/conv4/block7/0/bn/gamma:0");
        assertContains(failure(f, D121, null), "layer 'conv4/block7/0/bn': holds beta, moving_mean, moving_variance "
                + "but (the graph's 'conv4_7_x1_bn') takes gamma, beta, moving_mean, moving_variance; missing: gamma");
    }

    @Test
    void headlessGraphDropsTheFilesClassifier() throws Exception {
        var net = KerasDenseNetImporter.load(tf121, D121.toBuilder().headless(DenseNetConfig.Pooling.AVG).build());
        assertEquals(8062504 - 1025 * 1000, net.numParams());
    }

    @Test
    void notAKerasFile() throws Exception {
        Path f = Fixtures.mutated(tf121, "no-layer-names", "no-layer-names");
        assertContains(failure(f, D121, null), "not a Keras weight file: no 'layer_names' attribute on the root group");
    }

    @Test
    void missingFile() {
        assertContains(failure(tmp.resolve("nope.h5"), D121, null), "nope.h5: no such file");
    }

    @Test
    void notHdf5() throws Exception {
        Path f = tmp.resolve("random.h5");
        Files.write(f, "this is not an HDF5 file, just text".getBytes());
        assertContains(failure(f, D121, null), "not a readable HDF5 weight file");
    }

    @Test
    void truncatedFile() throws Exception {
        Path f = tmp.resolve("truncated.h5");
        byte[] all = Files.readAllBytes(tf121);
        Files.write(f, java.util.Arrays.copyOf(all, all.length / 3));
        String msg = failure(f, D121, null);
        assertTrue(msg.contains("truncated or damaged") || msg.contains("not a readable HDF5 weight file"), msg);
    }
}
