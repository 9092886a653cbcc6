package org.densenet4j.preprocess;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.densenet4j.preprocess.ImageNetPreprocessor.ChannelOrder;
import org.densenet4j.preprocess.ImageNetPreprocessor.Mode;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Each weight source's normalisation, checked on a known pixel, and top-k decoding. */
class PreprocessingTest {

    /** A 1x1 image whose channels hold the given values, in that order. */
    private static INDArray pixel(double c0, double c1, double c2) {
        return Nd4j.create(new float[] {(float) c0, (float) c1, (float) c2}, new long[] {1, 3, 1, 1});
    }

    private static void assertPixel(INDArray x, double c0, double c1, double c2) {
        assertEquals(c0, x.getDouble(0, 0, 0, 0), 1e-5);
        assertEquals(c1, x.getDouble(0, 1, 0, 0), 1e-5);
        assertEquals(c2, x.getDouble(0, 2, 0, 0), 1e-5);
    }

    @Test
    void caffeModeIsBgrMinusMeansTimes0017() {
        double r = 200, g = 100, b = 50;
        double[] expected = {(b - 103.94) * 0.017, (g - 116.78) * 0.017, (r - 123.68) * 0.017};
        assertPixel(new ImageNetPreprocessor(Mode.CAFFE, ChannelOrder.RGB).apply(pixel(r, g, b)),
                expected[0], expected[1], expected[2]);
        assertPixel(new ImageNetPreprocessor(Mode.CAFFE, ChannelOrder.BGR).apply(pixel(b, g, r)),
                expected[0], expected[1], expected[2]);
    }

    @Test
    void torchModeIsRgbStandardised() {
        double r = 200, g = 100, b = 50;
        double[] expected = {(r / 255 - 0.485) / 0.229, (g / 255 - 0.456) / 0.224, (b / 255 - 0.406) / 0.225};
        assertPixel(new ImageNetPreprocessor(Mode.TORCH, ChannelOrder.RGB).apply(pixel(r, g, b)),
                expected[0], expected[1], expected[2]);
        assertPixel(new ImageNetPreprocessor(Mode.TORCH, ChannelOrder.BGR).apply(pixel(b, g, r)),
                expected[0], expected[1], expected[2]);
    }

    @Test
    void worksAsADataSetPreProcessorAndLeavesNoneAlone() {
        DataSet ds = new DataSet(pixel(10, 20, 30), Nd4j.zeros(DataType.FLOAT, 1, 2));
        new ImageNetPreprocessor(Mode.CAFFE, ChannelOrder.BGR).preProcess(ds);
        assertPixel(ds.getFeatures(), (10 - 103.94) * 0.017, (20 - 116.78) * 0.017, (30 - 123.68) * 0.017);
        INDArray x = pixel(1, 2, 3);
        assertSame(x, new ImageNetPreprocessor(Mode.NONE, ChannelOrder.RGB).apply(x));
        assertThrows(IllegalArgumentException.class,
                () -> new ImageNetPreprocessor(Mode.TORCH, ChannelOrder.RGB).apply(Nd4j.zeros(1, 1, 4, 4)));
        assertEquals(Mode.TORCH, Mode.fromId("Torch"));
        assertThrows(IllegalArgumentException.class, () -> Mode.fromId("tf"));
    }

    @Test
    void imageNetLabelsDecodeTopK() {
        List<String> labels = ImageNetClasses.imageNet();
        assertEquals(1000, labels.size());
        assertEquals("tench", labels.get(0));
        assertEquals("tabby", labels.get(281));
        INDArray p = Nd4j.zeros(DataType.FLOAT, 2, 1000);
        p.putScalar(0, 281, 0.7).putScalar(0, 0, 0.2).putScalar(0, 999, 0.1);
        p.putScalar(1, 5, 1.0);
        var top = ImageNetClasses.topK(p, 3, labels);
        assertEquals(List.of(281, 0, 999), top.get(0).stream().map(ImageNetClasses.Prediction::index).toList());
        assertEquals("tabby", top.get(0).get(0).label());
        assertEquals(0.7, top.get(0).get(0).probability(), 1e-6);
        assertEquals(5, top.get(1).get(0).index());
        assertEquals("class 3", ImageNetClasses.topK(Nd4j.create(new float[][] {{0, 0, 0, 1}}), 1,
                List.of("a")).get(0).get(0).label());
    }
}
