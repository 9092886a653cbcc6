package org.densenet4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import javax.imageio.ImageIO;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ImageTransform;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;

/** Small models and image folders for the Spark tests. */
final class SparkFixtures {

    static final List<String> LABELS = List.of("blue", "red", "green");

    private SparkFixtures() {
    }

    /**
     * A small random DenseNet-BC on 32x32 RGB images with three classes; its card's transform is
     * torchvision's kind at that size: the shorter side to 36, a centre crop of 32, ImageNet mean and std.
     */
    static Path rgbModel(Path dir) throws IOException {
        DenseNetConfig config = DenseNetConfig.builder().stem(DenseNetConfig.Stem.CIFAR).growthRate(4).initialFilters(8)
                .blockLayers(2, 2).bottleneck(true).compression(0.5).numClasses(LABELS.size()).inputShape(32, 32, 3)
                .seed(7).build();
        ComputationGraph net = new DenseNetZooModel("tiny-rgb", config).init();
        Path zip = dir.resolve("tiny-rgb.zip");
        ModelFiles.write(net, zip, true, null, Map.of("labels", LABELS), false,
                new ModelCard(new ImageTransform(new ImageTransform.ShorterSide(36), new ImageTransform.Crop(32, 32),
                        ImageTransform.Interpolation.BILINEAR, true, ImageTransform.ChannelOrder.RGB,
                        ImageTransform.Normalization.IMAGENET), 32, 32, 3, LABELS,
                        Map.of("trainedOn", "nothing (random weights)")));
        return zip;
    }

    /**
     * DenseNet-BC L=40 k=12 (random weights) on 96x96 RGB images with three classes, torchvision's
     * preprocessing on its card: the architecture of the bundled Fashion-MNIST model, with enough
     * work per image (tens of milliseconds on a core) that a Spark task's own costs do not hide it.
     */
    static Path bc40Model(Path dir) throws IOException {
        DenseNetConfig config = DenseNetPreset.FASHION_MNIST.config().toBuilder()
                .numClasses(LABELS.size()).inputShape(96, 96, 3).seed(11).build();
        ComputationGraph net = new DenseNetZooModel("bc40-rgb", config).init();
        Path zip = dir.resolve("bc40-rgb.zip");
        ModelFiles.write(net, zip, true, null, Map.of("labels", LABELS), false,
                new ModelCard("torch", 96, 96, 3, LABELS, Map.of("trainedOn", "nothing (random weights)")));
        return zip;
    }

    /**
     * Colour images of various sizes (PNG and JPEG), each mostly red or mostly blue as its name says
     * ({@code red-3.png}, {@code blue-4.jpg}).
     */
    static void colourImages(Path dir, int perClass, long seed) throws IOException {
        Files.createDirectories(dir);
        Random rnd = new Random(seed);
        for (int i = 0; i < 2 * perClass; i++) {
            boolean red = i % 2 == 1;
            int w = 24 + rnd.nextInt(40);
            int h = 24 + rnd.nextInt(40);
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int strong = 150 + rnd.nextInt(100);
                    int weak = rnd.nextInt(90);
                    int g = rnd.nextInt(120);
                    img.setRGB(x, y, red ? strong << 16 | g << 8 | weak : weak << 16 | g << 8 | strong);
                }
            }
            String format = i % 3 == 0 ? "jpg" : "png";
            ImageIO.write(img, format, dir.resolve((red ? "red-" : "blue-") + i + "." + format).toFile());
        }
    }

    /** A grayscale PNG (which an RGB model refuses). */
    static void grayImage(Path file) throws IOException {
        BufferedImage img = new BufferedImage(20, 20, BufferedImage.TYPE_BYTE_GRAY);
        ImageIO.write(img, "png", file.toFile());
    }

    /** The CSV parts ({@code part-*}) of a {@code spark-features} output folder. */
    static List<Path> parts(Path out) throws IOException {
        try (var files = Files.list(out)) {
            return files.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList();
        }
    }

    /**
     * File name to values, from CSV files with a header as {@code features} and {@code spark-features}
     * write them (features quotes the names; Spark's CSV may not); a file named twice fails.
     */
    static Map<String, double[]> readFeatures(List<Path> files) throws IOException {
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
                if (rows.put(name, d) != null) {
                    throw new AssertionError(name + " has two rows in " + files);
                }
            }
        }
        return rows;
    }

    /** The same files with the same values, to 1e-4 of each value (1e-7 near zero). */
    static void assertSameFeatures(Map<String, double[]> expected, Map<String, double[]> actual) {
        assertEquals(new TreeSet<>(expected.keySet()), new TreeSet<>(actual.keySet()));
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            double[] a = e.getValue();
            double[] b = actual.get(e.getKey());
            assertEquals(a.length, b.length, e.getKey());
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 * Math.max(Math.abs(a[i]), 1e-3),
                        e.getKey() + " feature " + i);
            }
        }
    }
}
