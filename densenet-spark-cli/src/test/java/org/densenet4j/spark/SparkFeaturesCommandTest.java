package org.densenet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code densenet spark-features} against {@code densenet features}: the same values for every
 * image of a folder (in local[2]), and an image that does not decode, or is of the wrong kind,
 * reported while the others are written.
 */
class SparkFeaturesCommandTest {

    @TempDir
    Path dir;

    @Test
    void givesTheFeaturesOfTheFeaturesCommandAndReportsWhatDoesNotDecode() throws IOException {
        Path zip = SparkFixtures.rgbModel(dir);
        Path images = dir.resolve("images");
        SparkFixtures.colourImages(images, 6, 3);
        List<String> good;
        try (var files = Files.list(images)) {
            good = files.map(Path::toString).sorted().toList();
        }
        Files.write(images.resolve("broken.jpg"), "not a JPEG at all".getBytes());
        SparkFixtures.grayImage(images.resolve("gray.png"));
        Files.writeString(images.resolve("notes.txt"), "not an image file name: skipped, as features skips it");

        Path csv = dir.resolve("features.csv");
        List<String> featuresArgs = new ArrayList<>(List.of("features", "--model", zip.toString(), "--out",
                csv.toString(),
                "--images"));
        featuresArgs.addAll(good);
        CliFixtures.Run single = CliFixtures.cli(false, featuresArgs.toArray(String[]::new));
        assertEquals(0, single.code(), single.err());

        Path out = dir.resolve("spark-out");
        CliFixtures.Run spark = CliFixtures.cli(true, "spark-features", "--master", "local[2]", "--model",
                zip.toString(),
                "--images", images.toString(), "--out", out.toString(), "--batch", "5", "--partitions", "3");
        assertEquals(0, spark.code(), spark.err());
        assertTrue(spark.err().contains(images.resolve("broken.jpg") + ": not an image"), spark.err());
        assertTrue(spark.err().contains(images.resolve("gray.png") + ": is a grayscale image; the model takes RGB"),
                spark.err());
        assertTrue(spark.out().contains(good.size() + " images x "), spark.out());
        assertTrue(spark.out().contains("2 did not decode"), spark.out());

        Map<String, double[]> expected = SparkFixtures.readFeatures(List.of(csv));
        List<Path> parts = SparkFixtures.parts(out);
        assertTrue(parts.size() > 1, "the images were spread over several tasks: " + parts);
        Map<String, double[]> actual = SparkFixtures.readFeatures(parts);
        SparkFixtures.assertSameFeatures(expected, actual);
        assertFalse(actual.containsKey(images.resolve("broken.jpg").toString()));
    }
}
