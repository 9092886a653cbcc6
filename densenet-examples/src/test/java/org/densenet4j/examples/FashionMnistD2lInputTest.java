package org.densenet4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link FashionMnist#d2lInput} gives what d2l's {@code load_data_fashion_mnist(batch_size,
 * resize=96)} gives. The fixture was written by tools/fixtures/make_d2l_resize_fixture.py with
 * torchvision 0.14.1 and Pillow 9.4.0 (Debian's python3-torchvision, python3-pil): the first four
 * test images through {@code Compose([Resize(96), ToTensor()])} on the PIL image, as torchvision's
 * FashionMNIST dataset hands them over, stored as ToTensor's values times 255.
 */
class FashionMnistD2lInputTest {

    @Test
    void resizesAsTorchvisionAndScalesAsToTensor() throws IOException {
        assumeTrue(FashionMnist.hasTestSet(Path.of(FashionMnist.DEBIAN_DIR)),
                "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist; .ci/run installs it)");
        DataSet four = FashionMnist.load(Path.of(FashionMnist.DEBIAN_DIR), false, 4);
        INDArray before = four.getFeatures().dup();
        INDArray x = FashionMnist.d2lInput(96).apply(four.getFeatures());

        assertArrayEquals(new long[] {4, 1, 96, 96}, x.shape());
        byte[] golden;
        try (InputStream in = getClass().getResourceAsStream("d2l-resize96-t10k-0-3.bin")) {
            golden = in.readAllBytes();
        }
        assertEquals(4 * 96 * 96, golden.length);
        float[] got = x.data().asFloat();
        float[] expected = new float[golden.length];
        for (int i = 0; i < golden.length; i++) {
            expected[i] = (golden[i] & 0xff) / 255f; // ToTensor's float32 division
        }
        assertArrayEquals(expected, got, "Pillow's bilinear levels, divided by 255, value for value");
        assertEquals(before, four.getFeatures(), "the batch given is left as it was");
    }

    @Test
    void atTheStoredSizeOnlyScales() {
        INDArray x = Nd4j.createFromArray(new float[] {0, 51, 255, 102}).reshape(1, 1, 2, 2);
        assertArrayEquals(new float[] {0, 0.2f, 1, 0.4f}, FashionMnist.d2lInput(2).apply(x).data().asFloat());
    }

    @Test
    void refusesWhatIsNotASquareGrayBatch() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FashionMnist.d2lInput(96).apply(Nd4j.zeros(2, 3, 28, 28)));
        assertEquals("expected square grayscale images [N, 1, H, H], got [2, 3, 28, 28]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FashionMnist.d2lInput(0));
    }
}
