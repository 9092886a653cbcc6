package org.densenet4j.cli;

import static org.densenet4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.io.Images;
import org.densenet4j.io.Npy;
import org.densenet4j.keras.Fixtures;
import org.densenet4j.preprocess.ImageNetClasses;
import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Converted weights carry their image transform, labels, input size and source: a model converted
 * from torchvision weights is resized, cropped and normalised as torchvision's ImageClassification
 * does, one from keras.applications weights as keras' load_img + preprocess_input, one from the
 * original Keras port's Caffe-converted weights Caffe's way, without being told.
 */
class PreprocessingTravelsTest {

    @TempDir
    Path dir;

    @Test
    void eachConvertedModelIsNormalisedItsOwnWayUntold() throws Exception {
        Path image = Fixtures.images().resolve("rgb.png");
        Fixtures.TorchFixture torchvision = Fixtures.torch("densenet121", 224, 224, 2, 1000);
        Path keras2 = Fixtures.get("densenet121", "keras2", 224, 224, 2).weights();
        Path caffe = Fixtures.get("densenet121", "keras1-tf", 224, 224, 4).weights();
        check(torchvision.pth(), "torchvision", ImageNetPreprocessor.Mode.TORCH, image,
                ImageTransform.imageClassification(224, 256));
        check(keras2, "keras2", ImageNetPreprocessor.Mode.TORCH, image, ImageTransform.kerasLoadImg(224, 224));
        check(caffe, "keras1-tf", ImageNetPreprocessor.Mode.CAFFE, image,
                ImageTransform.stretch(224, 224, ImageTransform.Normalization.CAFFE_DENSENET));
    }

    private void check(Path weights, String layout, ImageNetPreprocessor.Mode expected, Path image,
                       ImageTransform transform) throws Exception {
        Path zip = dir.resolve(layout + ".zip");
        Cli.Run c = run("convert", "--weights", weights.toString(), "--model", "densenet121", "--out", zip.toString());
        assertEquals(0, c.code(), c.err());

        ModelCard card = ModelCard.read(zip).orElseThrow();
        assertEquals(expected.name().toLowerCase(java.util.Locale.ROOT), card.preprocessing(), layout);
        assertEquals(transform, card.transform(), layout);
        assertEquals(List.of(224, 224, 3), List.of(card.inputHeight(), card.inputWidth(), card.inputChannels()));
        assertEquals(ImageNetClasses.imageNet(), card.labels());
        assertEquals(weights.getFileName().toString(), card.source().get("file"));
        assertEquals(ModelFiles.sha256(weights), card.source().get("sha256"));
        assertEquals(layout, card.source().get("layout"));

        Path p = dir.resolve(layout + ".npy");
        Cli.Run r = run("predict", "--model", zip.toString(), "--images", image.toString(), "--output", p.toString());
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("warning"), r.err());
        ComputationGraph net = ModelFiles.read(zip, false);
        INDArray x = new ImageNetPreprocessor(expected, ImageNetPreprocessor.ChannelOrder.RGB)
                .apply(Images.load(List.of(image), transform, 3));
        INDArray want = net.outputSingle(x);
        INDArray got = Npy.read(p);
        double diff = want.sub(got).amaxNumber().doubleValue();
        assertTrue(diff < 1e-4, layout + ": predicted as with " + expected + " preprocessing, max diff " + diff);

        ImageNetPreprocessor.Mode other = expected == ImageNetPreprocessor.Mode.CAFFE
                ? ImageNetPreprocessor.Mode.TORCH : ImageNetPreprocessor.Mode.CAFFE;
        Cli.Run overridden = run("predict", "--model", zip.toString(), "--images", image.toString(), "--preprocess",
                other.name().toLowerCase(java.util.Locale.ROOT));
        assertEquals(0, overridden.code(), overridden.err());
        assertTrue(overridden.err().contains("records " + card.preprocessing() + " preprocessing for its weights; "
                + "--preprocess " + other.name().toLowerCase(java.util.Locale.ROOT) + " overrides it"),
                overridden.err());
        net.close();
    }
}
