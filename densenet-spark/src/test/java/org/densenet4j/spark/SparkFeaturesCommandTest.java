package org.densenet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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
        List<String> featuresArgs = new ArrayList<>(List.of("features", "--model", zip.toString(), "--out", csv.toString(),
                "--images"));
        featuresArgs.addAll(good);
        SparkFixtures.Run single = SparkFixtures.cli(false, featuresArgs.toArray(String[]::new));
        assertEquals(0, single.code(), single.err());

        Path out = dir.resolve("spark-out");
        SparkFixtures.Run spark = SparkFixtures.cli(true, "spark-features", "--master", "local[2]", "--model", zip.toString(),
                "--images", images.toString(), "--out", out.toString(), "--batch", "5", "--partitions", "3");
        assertEquals(0, spark.code(), spark.err());
        assertTrue(spark.err().contains(images.resolve("broken.jpg") + ": not an image"), spark.err());
        assertTrue(spark.err().contains(images.resolve("gray.png") + ": is a grayscale image; the model takes RGB"),
                spark.err());
        assertTrue(spark.out().contains(good.size() + " images x "), spark.out());
        assertTrue(spark.out().contains("2 did not decode"), spark.out());

        Map<String, double[]> expected = read(List.of(csv));
        List<Path> parts;
        try (var files = Files.list(out)) {
            parts = files.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
        }
        assertTrue(parts.size() > 1, "the images were spread over several tasks: " + parts);
        Map<String, double[]> actual = read(parts);
        assertEquals(expected.keySet(), actual.keySet());
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            double[] a = e.getValue();
            double[] b = actual.get(e.getKey());
            assertEquals(a.length, b.length, e.getKey());
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 * Math.max(Math.abs(a[i]), 1e-3), e.getKey() + " feature " + i);
            }
        }
        assertFalse(actual.containsKey(images.resolve("broken.jpg").toString()));
    }

    /** File name to values, from CSV files with a header (features quotes the names; Spark's CSV may not). */
    private static Map<String, double[]> read(List<Path> files) throws IOException {
        Map<String, double[]> rows = new HashMap<>();
        for (Path f : files) {
            List<String> lines = Files.readAllLines(f);
            for (String line : lines.subList(1, lines.size())) {
                int comma = line.lastIndexOf('"') >= 0 ? line.indexOf(',', line.lastIndexOf('"')) : line.indexOf(',');
                String name = line.substring(0, comma).replace("\"", "");
                String[] v = line.substring(comma + 1).split(",");
                double[] d = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    d[i] = Double.parseDouble(v[i]);
                }
                rows.put(name, d);
            }
        }
        return rows;
    }
}
