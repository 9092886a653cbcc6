package org.densenet4j.cli;

import static org.densenet4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.io.Npy;
import org.densenet4j.keras.Fixtures;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ModelCard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Issue 29's done-when check: a photo run through the default image path of a converted torchvision
 * model gives torchvision's own answer. tools/fixtures/make_photo_golden.py (run at test time, with
 * Debian's python3-torchvision and python3-pil) writes a torchvision DenseNet-121 state_dict with
 * seeded random weights (BN statistics calibrated on photos, the classifier scaled for a peaked
 * output), a 500x375 photo-like PNG, and the log-probabilities torchvision computes for it through
 * {@code DenseNet121_Weights.IMAGENET1K_V1.transforms()} on the PIL image. Here the state_dict is
 * converted by {@code densenet convert} and the PNG predicted by {@code densenet predict} with no
 * size or preprocessing given: within 2e-2 of torchvision's log-probabilities, the same top-1; and
 * the input tensor {@link ImageModel#preprocess} makes of the photo is torchvision's, to 1e-6.
 * (Measured in Python, the same photo stretched to 224x224 instead gives log p up to 18.7 away.)
 */
class PhotoGoldenTest {

    @TempDir
    Path dir;

    @Test
    void aConvertedTorchvisionModelPredictsAPhotoAsTorchvisionDoes() throws Exception {
        Fixtures.PhotoFixture f = Fixtures.photo();
        Path zip = dir.resolve("tv121.zip");
        Cli.Run c = run("convert", "--weights", f.weights().toString(), "--out", zip.toString());
        assertEquals(0, c.code(), c.err());
        assertEquals(ImageTransform.imageClassification(224, 256), ModelCard.read(zip).orElseThrow().transform());

        Path p = dir.resolve("p.npy");
        Cli.Run r = run("predict", "--model", zip.toString(), "--images", f.photo().toString(),
                "--output", p.toString());
        assertEquals(0, r.code(), r.err());
        INDArray expected = Npy.read(f.logProbabilities());
        assertMatches(expected, Transforms.log(Npy.read(p), true), "densenet predict");

        // the library's one method for it, as the CLI uses it
        ImageModel model = ImageModel.read(zip, zip.toString());
        INDArray x = model.preprocess(List.of(f.photo()));
        INDArray tv = Npy.read(f.input());
        assertArrayEquals(tv.shape(), x.shape());
        double inputDiff = Transforms.abs(x.sub(tv)).maxNumber().doubleValue();
        System.out.printf("input: max |x_densenet4j - x_torchvision| = %.2e%n", inputDiff);
        assertEquals(0, inputDiff, 1e-6, "the photo through the transform: torchvision's tensor");
        assertMatches(expected, Transforms.log(CompiledGraph.inference(model.net()).apply(x), true),
                "ImageModel.preprocess");
        model.net().close();
    }

    private static void assertMatches(INDArray expected, INDArray logp, String what) {
        assertArrayEquals(expected.shape(), logp.shape(), what);
        double maxDiff = Transforms.abs(logp.sub(expected)).maxNumber().doubleValue();
        System.out.printf("%s: max |log p_densenet4j - log p_torchvision| = %.2e%n", what, maxDiff);
        assertTrue(maxDiff <= 2e-2, what + ": max |log p_densenet4j - log p_torchvision| = " + maxDiff);
        assertEquals(expected.argMax(1).getLong(0), logp.argMax(1).getLong(0), what + ": top-1 class");
    }
}
