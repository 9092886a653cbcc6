package org.densenet4j.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Images;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.TinyNets;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A model zip read as a classifier: its card's transform applied to files, its labels decoding its outputs. */
class ImageClassifierTest {

    @TempDir
    Path dir;

    private static Path photo(String name) throws Exception {
        return Path.of(ImageClassifierTest.class.getResource("/transforms/" + name).toURI());
    }

    @Test
    void thePretrainedFashionMnistModelComesWithItsLabelsAndScaling(@org.junit.jupiter.api.io.TempDir Path cache)
            throws Exception {
        org.deeplearning4j.common.resources.DL4JResources.setBaseDirectory(cache.toFile());
        try {
            ImageClassifier c = ImageClassifier.pretrained(org.densenet4j.zoo.DenseNetPreset.FASHION_MNIST);
            assertEquals(10, c.classes());
            assertEquals("Ankle boot", c.labels().get(9));
            assertEquals(1, c.channels());
            assertEquals(28, c.transform().outputSize()[0]);
            assertTrue(java.nio.file.Files.exists(ModelFiles.checksumFile(
                    ModelFiles.cachedModel("densenet-fmnist", org.deeplearning4j.zoo.PretrainedType.MNIST))));
            assertThrows(UnsupportedOperationException.class,
                    () -> ImageClassifier.pretrained(org.densenet4j.zoo.DenseNetPreset.DENSENET264));
        } finally {
            org.deeplearning4j.common.resources.DL4JResources.resetBaseDirectoryLocation();
        }
    }

    @Test
    void aZipsTransformAndLabelsComeWithIt() throws Exception {
        ComputationGraph net = new DenseNetZooModel("tiny-rgb", TinyNets.tinyBc().inputShape(32, 32, 3).numClasses(3)
                .build()).init();
        ImageTransform t = new ImageTransform(new ImageTransform.ShorterSide(40), new ImageTransform.Crop(32, 32),
                ImageTransform.Interpolation.BICUBIC, true, ImageTransform.ChannelOrder.RGB,
                ImageTransform.Normalization.IMAGENET);
        Path zip = dir.resolve("m.zip");
        List<String> labels = List.of("sky", "sea", "sand");
        ModelFiles.write(net, zip, false, null, Map.of(), false, new ModelCard(t, 32, 32, 3, labels, Map.of()));

        ImageClassifier c = ImageClassifier.read(zip);
        assertEquals(t, c.transform());
        assertEquals(3, c.channels());
        assertEquals(3, c.classes());
        assertEquals(labels, c.labels());

        List<Path> files = List.of(photo("landscape.png"), photo("portrait.png"));
        INDArray x = c.preprocess(files);
        assertArrayEquals(new long[] {2, 3, 32, 32}, x.shape());
        float[] expected = Images.load(files, t, 3).data().asFloat();
        t.normalize(expected, 3, 32 * 32);
        assertArrayEquals(expected, x.data().asFloat(), "Images' geometry, then the transform's normalisation");

        INDArray p = c.predict(files);
        assertEquals(CompiledGraph.inference(c.net()).apply(x), p);
        INDArray sure = Nd4j.create(new float[][] {{0.1f, 0.7f, 0.2f}, {0.5f, 0.2f, 0.3f}});
        var top = c.decode(sure, 2);
        assertEquals(List.of("sea", "sand"), top.get(0).stream().map(ImageNetClasses.Prediction::label).toList());
        assertEquals("sky", top.get(1).get(0).label());
        assertEquals(0.5, top.get(1).get(0).probability(), 1e-6);
    }

    @Test
    void aZipWithoutACardIsTheOldStretch() throws Exception {
        ComputationGraph net = new DenseNetZooModel("tiny", TinyNets.tinyBc().build()).init();
        Path zip = dir.resolve("old.zip");
        ModelFiles.write(net, zip, false, null, Map.of(), false, null);
        ImageClassifier c = ImageClassifier.read(zip);
        assertEquals(1, c.channels());
        assertEquals(ImageTransform.stretch(28, 28, ImageTransform.Normalization.NONE), c.transform());
        assertEquals(List.of(), c.labels(), "2 classes: no names stored, not ImageNet's");
        assertEquals("class 1", c.decode(Nd4j.create(new float[][] {{0.1f, 0.9f}}), 1).get(0).get(0).label());
        assertThrows(IllegalArgumentException.class, () -> new ImageClassifier(net,
                ImageTransform.legacy(ModelCard.STORED, 28, 28), 1, null, null));
        assertEquals(DataType.FLOAT, c.preprocess(List.of(photo("gray.png"))).dataType());
    }
}
