package org.densenet4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ImageTransform.ChannelOrder;
import org.densenet4j.zoo.io.ImageTransform.Crop;
import org.densenet4j.zoo.io.ImageTransform.Interpolation;
import org.densenet4j.zoo.io.ImageTransform.Normalization;
import org.densenet4j.zoo.io.ImageTransform.ShorterSide;
import org.densenet4j.zoo.io.ImageTransform.Stretch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Images resized and cropped here are the pixels torchvision and Pillow give. The fixtures in
 * src/test/resources/transforms were written by tools/fixtures/make_transform_fixtures.py with
 * Pillow 9.4.0 and torchvision 0.14.1 (Debian's python3-pil, python3-torchvision): photo-like
 * images of 500x375, 375x500, 333x251 (odd sizes: the crop offset rounds up, 57.5 to 58, where
 * 500x375's 58.5 rounds down to 58), 150x100 (upscaled) and a 375x500 gray one, each with what
 *
 * <ul>
 *   <li>torchvision's {@code Resize(256)} + {@code CenterCrop(224)} gives on the PIL image, what the
 *       DenseNet*_Weights.IMAGENET1K_V1 transforms ({@code ImageClassification(crop_size=224)})
 *       compute before scaling and normalising (the script checks that);</li>
 *   <li>the same with {@code InterpolationMode.BICUBIC};</li>
 *   <li>PIL's {@code Image.resize((224, 224), BILINEAR)} (an antialiased stretch) and
 *       {@code NEAREST} (keras.utils.load_img's default);</li>
 *   <li>torch's {@code F.interpolate(bilinear, align_corners=False, antialias=False)}, rounded.</li>
 * </ul>
 *
 * <p>Everything Pillow computes must come out exactly; torch's float interpolation within one level
 * (8-bit fixed point against float). The JPEG is decoded by ImageIO here and by libjpeg in PIL:
 * within the tolerance stated below.
 */
class ImageTransformGoldenTest {

    private static final ImageTransform TORCHVISION = ImageTransform.imageClassification(224, 256);
    private static final ImageTransform BICUBIC = new ImageTransform(new ShorterSide(256), new Crop(224, 224),
            Interpolation.BICUBIC, true, ChannelOrder.RGB, Normalization.IMAGENET);
    private static final ImageTransform STRETCH = new ImageTransform(new Stretch(224, 224), null,
            Interpolation.BILINEAR, true, ChannelOrder.RGB, Normalization.IMAGENET);
    private static final ImageTransform NEAREST = ImageTransform.kerasLoadImg(224, 224);
    private static final ImageTransform PLAIN = ImageTransform.stretch(224, 224, Normalization.NONE);

    /**
     * ImageIO's JPEG decoder (the JDK's, from IJG libjpeg 6b) against PIL's libjpeg(-turbo), on a
     * quality-90 4:2:0 JPEG, then the same resize and crop. Measured (JDK 17, Pillow 9.4.0 on Debian's
     * libjpeg-turbo 2.1.5): no difference at all. Decoders may round their IDCT or chroma upsampling
     * differently, so one level is allowed, and a mean of a tenth of one.
     */
    private static final int JPEG_MAX_LEVELS = 1;
    private static final double JPEG_MEAN_LEVELS = 0.1;

    private static Path fixture(String name) throws URISyntaxException {
        var url = ImageTransformGoldenTest.class.getResource("/transforms/" + name);
        if (url == null) {
            throw new IllegalStateException("missing test resource transforms/" + name
                    + " (written by tools/fixtures/make_transform_fixtures.py)");
        }
        return Path.of(url.toURI());
    }

    /** An 8-bit PNG written by PIL, as [channels, h, w] values; PNG decoding is lossless, so these are PIL's. */
    private static float[] expected(String name, int channels) throws Exception {
        BufferedImage img = ImageIO.read(Files.newInputStream(fixture(name)));
        ImageTransform asItIs = new ImageTransform(new Stretch(img.getHeight(), img.getWidth()), null,
                Interpolation.NEAREST, false, ChannelOrder.RGB, Normalization.NONE);
        return Images.apply(Images.pixels(img, channels), asItIs);
    }

    private static float[] ours(String input, ImageTransform t, int channels) throws IOException, URISyntaxException {
        INDArray x = Images.load(List.of(fixture(input)), t, channels);
        int[] hw = t.outputSize();
        assertArrayEquals(new long[] {1, channels, hw[0], hw[1]}, x.shape(), input);
        return x.data().asFloat();
    }

    /** The largest and the mean absolute difference, in levels. */
    private static double[] diff(float[] a, float[] b) {
        double max = 0;
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            max = Math.max(max, d);
            sum += d;
        }
        return new double[] {max, sum / a.length};
    }

    private static void assertClose(String input, String kind, ImageTransform t, int channels, double maxLevels)
            throws Exception {
        float[] want = expected(input.replace(".png", "") + "." + kind + ".png", channels);
        float[] got = ours(input, t, channels);
        assertTrue(want.length == got.length, input + " " + kind + ": sizes");
        double[] d = diff(want, got);
        System.out.printf("%s %s: max %.0f levels, mean %.4f%n", input, kind, d[0], d[1]);
        assertTrue(d[0] <= maxLevels, input + " " + kind + ": max difference " + d[0] + " levels (mean " + d[1]
                + "), at most " + maxLevels + " allowed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"landscape.png", "portrait.png", "odd.png", "small.png", "gray.png"})
    void pillowsResizesAndTorchvisionsCropComeOutExactly(String input) throws Exception {
        int channels = input.startsWith("gray") ? 1 : 3;
        assertClose(input, "torchvision", TORCHVISION, channels, 0);
        assertClose(input, "bicubic", BICUBIC, channels, 0);
        assertClose(input, "stretch", STRETCH, channels, 0);
        assertClose(input, "nearest", NEAREST, channels, 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"landscape.png", "portrait.png", "odd.png", "small.png", "gray.png"})
    void theStretchWithoutAntialiasingIsTorchsBilinearToOneLevel(String input) throws Exception {
        assertClose(input, "plain", PLAIN, input.startsWith("gray") ? 1 : 3, 1);
    }

    @org.junit.jupiter.api.Test
    void aJpegDecodedByImageIoIsCloseToTorchvisionOnLibjpegsDecoding() throws Exception {
        float[] want = expected("landscape.jpg.torchvision.png", 3);
        float[] got = ours("landscape.jpg", TORCHVISION, 3);
        double[] d = diff(want, got);
        System.out.printf("landscape.jpg torchvision: max %.0f levels, mean %.4f%n", d[0], d[1]);
        assertTrue(d[0] <= JPEG_MAX_LEVELS && d[1] <= JPEG_MEAN_LEVELS, "JPEG: max " + d[0] + " levels, mean " + d[1]);
    }
}
