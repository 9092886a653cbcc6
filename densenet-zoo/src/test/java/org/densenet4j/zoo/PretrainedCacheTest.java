package org.densenet4j.zoo;

import org.densenet4j.zoo.io.ModelFiles;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Model zips are written atomically with a checksum; initPretrained reads the zoo cache only when it is intact. */
class PretrainedCacheTest {

    @TempDir
    Path cache;

    @BeforeEach
    void useTemporaryCache() {
        DL4JResources.setBaseDirectory(cache.toFile());
    }

    @AfterEach
    void restoreCache() {
        DL4JResources.resetBaseDirectoryLocation();
    }

    private static ComputationGraph tiny() {
        return new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
    }

    @Test
    void writtenModelReadsBackIdentically() throws IOException {
        ComputationGraph net = tiny();
        Path zip = cache.resolve("out/tiny.zip");
        ModelFiles.write(net, zip, false);
        assertTrue(Files.exists(ModelFiles.checksumFile(zip)));
        assertEquals(ModelFiles.sha256(zip), Files.readString(ModelFiles.checksumFile(zip)).split("\\s+")[0]);
        INDArray x = TinyNets.bars(3, 12, 4).getFeatures();
        assertEquals(net.outputSingle(x), ModelFiles.read(zip, true).outputSingle(x));
        try (var files = Files.list(zip.getParent())) {
            assertEquals(2, files.count(), "no temporary files are left behind");
        }
    }

    @Test
    void existingFileIsReplacedOnlyWhenAsked() throws IOException {
        Path zip = cache.resolve("tiny.zip");
        ModelFiles.write(tiny(), zip, false);
        byte[] before = Files.readAllBytes(zip);
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> ModelFiles.write(tiny(), zip, false));
        assertTrue(e.getMessage().contains("exists, and replacing it was not asked for"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(zip));
        ModelFiles.write(new DenseNetZooModel("tiny", TinyNets.tinyBc().seed(99).build()).init(), zip, true);
        assertFalse(java.util.Arrays.equals(before, Files.readAllBytes(zip)));
    }

    @Test
    void damagedFileFailsItsChecksumAndIsKept() throws IOException {
        Path zip = cache.resolve("tiny.zip");
        ModelFiles.write(tiny(), zip, false);
        byte[] bytes = Files.readAllBytes(zip);
        bytes[bytes.length / 2] ^= 0x5a;
        Files.write(zip, bytes);
        IOException e = assertThrows(IOException.class, () -> ModelFiles.read(zip, true));
        assertTrue(e.getMessage().contains("fails its checksum"), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(zip), "a damaged file is reported, not deleted");
    }

    /**
     * densenet-zoo's tests have no {@link PretrainedProvider} on the class path (densenet-keras-import
     * depends on this module, not the other way round): the error says so in library terms.
     */
    @Test
    void missingPretrainedModelWithoutAProviderSaysWhatTheCallerCanDo() {
        assertFalse(java.util.ServiceLoader.load(PretrainedProvider.class).iterator().hasNext(),
                "this test needs a class path without densenet-keras-import");
        String zip = cache.resolve("models/densenet121/densenet121_imagenet.zip").toString();
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> new DenseNet121().initPretrained());
        assertEquals(zip, e.getFile());
        assertTrue(e.getMessage().contains("no densenet121 model in the zoo cache, and nothing on the class path "
                + "downloads its published IMAGENET weights: add densenet-keras-import to the class path to download "
                + "the published weights, or put a converted model zip of densenet121"), e.getMessage());
        assertTrue(e.getMessage().endsWith(" at " + zip), e.getMessage());
        for (String cli : new String[] {"./densenet", "densenet convert", "--"}) {
            assertFalse(e.getMessage().contains(cli), () -> "no command line in a library message: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("densenet121_weights_tf.h5"),
                "the seed's Caffe file is not what is loaded");
        assertFalse(Files.exists(Path.of(zip)));
    }

    @Test
    void installedPretrainedModelLoadsAndIsChecked() throws IOException {
        DenseNet121 zoo = new DenseNet121();
        Path zip = ModelFiles.cachedModel("densenet121", PretrainedType.IMAGENET);
        ComputationGraph original = zoo.init();
        ModelFiles.write(original, zip, false);
        ComputationGraph loaded = zoo.initPretrained(PretrainedType.IMAGENET);
        assertEquals(original.params(), loaded.params());

        // A zip of another model under 121's name is refused.
        ModelFiles.write(tiny(), zip, true);
        IOException wrong = assertThrows(IOException.class, zoo::initPretrained);
        assertTrue(wrong.getMessage().contains("not a densenet121 (8062504)"), wrong.getMessage());
    }

    @Test
    void onlyPublishedWeightsAreAvailable() {
        assertTrue(new DenseNet121().pretrainedAvailable(PretrainedType.IMAGENET));
        assertTrue(new DenseNet201().pretrainedAvailable(PretrainedType.IMAGENET));
        assertFalse(new DenseNet264().pretrainedAvailable(PretrainedType.IMAGENET));
        assertFalse(new DenseNet121().pretrainedAvailable(PretrainedType.CIFAR10));
        assertFalse(DenseNetZooModel.of(DenseNetPreset.CIFAR_DENSENET_BC100_K12)
                .pretrainedAvailable(PretrainedType.IMAGENET));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> new DenseNet264().initPretrained());
        assertTrue(e.getMessage().startsWith("No pretrained IMAGENET weights are published for densenet264"),
                e.getMessage());

        // The zoo knows only that they are published; which file is densenet-keras-import's catalog's to say.
        for (DenseNetPreset p : new DenseNetPreset[] {DenseNetPreset.DENSENET121, DenseNetPreset.DENSENET161,
                DenseNetPreset.DENSENET169, DenseNetPreset.DENSENET201}) {
            DenseNetPreset.WeightSource w = p.imageNetWeights().orElseThrow();
            assertFalse(w.bundled(), p.id());
            assertThrows(IllegalStateException.class, w::resource, p.id());
        }
        assertEquals(java.util.List.of(DenseNetPreset.DENSENET121, DenseNetPreset.DENSENET161,
                DenseNetPreset.DENSENET169, DenseNetPreset.DENSENET201),
                java.util.Arrays.stream(DenseNetPreset.values()).filter(p -> p.imageNetWeights().isPresent()).toList());
    }

    @Test
    void bundledModelIsInstalledOnlyWhenItMatchesItsChecksum() throws IOException {
        Path source = cache.resolve("bundle/tiny.zip");
        ModelFiles.write(tiny(), source, false);
        String sum = ModelFiles.sha256(source);
        Path target = cache.resolve("models/tiny/tiny_mnist.zip");

        IOException bad = assertThrows(IOException.class,
                () -> ModelFiles.install(() -> Files.newInputStream(source), "00" + sum.substring(2), "bundle",
                target));
        assertTrue(bad.getMessage().contains("bundle: fails its checksum"), bad.getMessage());
        assertFalse(Files.exists(target));
        try (var files = Files.list(target.getParent())) {
            assertEquals(0, files.count(), "nothing is left behind");
        }

        ModelFiles.install(() -> Files.newInputStream(source), sum, "bundle", target);
        assertEquals(tiny().numParams(), ModelFiles.read(target, true).numParams());

        NoSuchFileException missing = assertThrows(NoSuchFileException.class,
                () -> ModelFiles.installResource("/no/such/model.zip", cache.resolve("x.zip")));
        assertTrue(missing.getMessage().contains("no bundled model"), missing.getMessage());
    }

    @Test
    void theFashionMnistModelIsTheOnlyMnistOne() {
        DenseNetZooModel fashion = DenseNetZooModel.of(DenseNetPreset.FASHION_MNIST);
        assertTrue(fashion.pretrainedAvailable(PretrainedType.MNIST));
        assertFalse(fashion.pretrainedAvailable(PretrainedType.IMAGENET));
        assertFalse(new DenseNet121().pretrainedAvailable(PretrainedType.MNIST));
        assertEquals(28, fashion.config().inputHeight());
        assertEquals(1, fashion.config().inputChannels());
        assertEquals("/org/densenet4j/zoo/pretrained/densenet-fmnist.zip",
                DenseNetPreset.FASHION_MNIST.pretrained(PretrainedType.MNIST).orElseThrow().resource());
    }
}
