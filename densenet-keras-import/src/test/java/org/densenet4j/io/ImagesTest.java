package org.densenet4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import org.densenet4j.keras.Fixtures;
import org.densenet4j.testing.ByteMutator;
import org.densenet4j.testing.Fuzz;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Image files (written by Pillow) load with the right values, and bad or hostile ones fail as IOException naming the
 * file.
 */
class ImagesTest {

    private static Path images;

    @TempDir
    Path dir;

    @BeforeAll
    static void images() throws IOException {
        images = Fixtures.images();
    }

    private static INDArray load(String name, int channels) throws IOException {
        return Images.load(List.of(images.resolve(name)), 20, 30, channels);
    }

    private static void assertRejected(String name, int channels, String message) {
        IOException e = assertThrows(IOException.class, () -> load(name, channels));
        assertTrue(e.getMessage().startsWith(images.resolve(name) + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void colourImagesLoadAsRgbAtTheAskedSize() throws IOException {
        INDArray png = load("rgb.png", 3);
        assertArrayEquals(new long[] {1, 3, 20, 30}, png.shape());
        assertEquals(200, png.getDouble(0, 0, 5, 5), 0);
        assertEquals(100, png.getDouble(0, 1, 19, 29), 0);
        assertEquals(50, png.getDouble(0, 2, 10, 0), 0);
        INDArray jpg = load("rgb.jpg", 3);
        assertEquals(200, jpg.getDouble(0, 0, 5, 5), 3);
        assertEquals(50, jpg.getDouble(0, 2, 5, 5), 3);
        INDArray cmyk = load("cmyk.jpg", 3);
        assertTrue(cmyk.getDouble(0, 0, 5, 5) > cmyk.getDouble(0, 2, 5, 5) + 100, "CMYK (0,128,255,0) is orange");
    }

    @Test
    void grayImagesKeepTheirValues() throws IOException {
        assertEquals(77, load("gray.png", 1).getDouble(0, 0, 3, 3), 0);
        assertEquals(128, load("gray16.png", 1).getDouble(0, 0, 3, 3), 0);
        INDArray both = Images.load(List.of(images.resolve("gray.png"), images.resolve("gray16.png")), 8, 8, 1);
        assertArrayEquals(new long[] {2, 1, 8, 8}, both.shape());
    }

    @Test
    void badImagesAreRejectedNamingTheFile() {
        assertRejected("gray.png", 3, "is a grayscale image; the model takes RGB (3 channels)");
        assertRejected("gray16.png", 3, "is a grayscale image");
        assertRejected("rgb.png", 1, "is a colour image; the model takes grayscale (1 channel)");
        assertRejected("huge.png", 3, "claims 100000x100000 pixels");
        assertRejected("empty.jpg", 3, "not an image this tool reads");
        assertRejected("text.png", 3, "not an image this tool reads");
        assertRejected("truncated.png", 3, "unreadable or truncated image");
        assertRejected("missing.png", 3, "no such file");
    }

    @Test
    void truncatedJpegIsRejectedOrDecodedButNeverCrashes() {
        try {
            assertArrayEquals(new long[] {1, 3, 20, 30}, load("truncated.jpg", 3).shape());
        } catch (IOException e) {
            assertTrue(e.getMessage().startsWith(images.resolve("truncated.jpg") + ": "), e.getMessage());
        }
    }

    @Test
    void mutatedImagesLoadOrFailAsIOExceptionWithinTheBound() throws Exception {
        String[] sources = {"rgb.png", "rgb.jpg", "noisy.jpg", "gray16.png", "cmyk.jpg"};
        ByteMutator mutator = new ByteMutator(Fuzz.SEED);
        Path f = dir.resolve("case.img");
        try (Fuzz fuzz = new Fuzz("Image fuzz", "densenet-keras-import", ImagesTest.class, 10, Set.of("loaded",
                "rejected"))) {
            for (int i = 0; i < Fuzz.CASES; i++) {
                String source = sources[i % sources.length];
                ByteMutator.Mutation m = mutator.mutate(Files.readAllBytes(images.resolve(source)), i / sources.length);
                Files.write(f, m.bytes());
                int channels = source.startsWith("gray") ? 1 : 3;
                fuzz.run(source + " " + m.kind(), f, () -> {
                    try {
                        Images.load(List.of(f), 16, 16, channels);
                        return "loaded";
                    } catch (IOException e) {
                        return e.getMessage() != null && e.getMessage().startsWith(f + ": ") ? "rejected"
                                : "BAD_MESSAGE " + e;
                    }
                });
            }
            System.out.println(fuzz.report());
            assertTrue(fuzz.broken().isEmpty(), String.join("\n", fuzz.broken()));
        }
    }
}
