package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.imageio.ImageIO;

import org.densenet4j.examples.Architecture;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.examples.segmentation.MaskImages;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code densenet train-segmentation} for one epoch of a tiny FC-DenseNet on a few scenes (from
 * Debian's dataset-fashion-mnist; skipped without it), then {@code segment} on images of other sizes.
 */
class SegmentationCommandsTest {

    private static final String TINY = "{\"initialFilters\": 8, \"growthRate\": 4, \"blockLayers\": [1, 2, 1]}";

    @TempDir
    static Path dir;

    private static Path model;

    @BeforeAll
    static void trainATinyModel() throws Exception {
        assumeTrue(FashionMnist.hasTestSet(Path.of(FashionMnist.DEBIAN_DIR)),
                "needs Debian's dataset-fashion-mnist in " + FashionMnist.DEBIAN_DIR);
        Path config = Files.writeString(dir.resolve("tiny.json"), TINY);
        model = dir.resolve("seg.zip");
        Cli.Run r = Cli.run("train-segmentation", "--model", config.toString(), "--train-images", "24",
                "--test-images", "8", "--size", "32", "--epochs", "1", "--batch", "8", "--out", model.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("the graph's fit()"), r.out());
        assertTrue(r.out().contains("All-background baseline on the test scenes: pixel accuracy 0."), r.out());
        assertTrue(r.out().contains("epoch 1/1: loss"), r.out());
    }

    @Test
    void trainingWritesTheModelItsCardAndTheCurves() throws Exception {
        ModelCard card = ModelCard.read(model).orElseThrow();
        assertEquals(32, card.inputHeight());
        assertEquals(1, card.inputChannels());
        assertEquals("background", card.labels().get(0));
        assertEquals(FashionMnist.LABELS, card.labels().subList(1, 11));
        assertEquals("segmentation", card.source().get("task"));
        assertTrue(card.architecture().contains("\"blockLayers\":[1,2,1]"), card.architecture());
        assertEquals(11, ModelFiles.read(model, true).getLayer("classifier").getParam("b").length());
        List<String> csv = Files.readAllLines(dir.resolve("seg-curves.csv"));
        assertEquals("epoch,train_loss,train_pixel_accuracy,test_loss,test_pixel_accuracy,test_mean_iou,"
                + "baseline_pixel_accuracy,baseline_mean_iou,seconds,images_per_s", csv.get(0));
        assertEquals(2, csv.size());
        String[] row = csv.get(1).split(",");
        assertEquals("1", row[0]);
        double loss = Double.parseDouble(row[1]);
        assertTrue(loss > 0 && loss < 20, "per-pixel loss: " + loss);

        Cli.assertBadInput(Cli.run("train-segmentation", "--model", dir.resolve("tiny.json").toString(),
                "--train-images", "8", "--size", "32", "--out", model.toString()), "seg.zip: exists; pass --force");
    }

    @Test
    void segmentWritesAPaletteMaskOfEachImagesSize() throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        writeImage(images.resolve("wide.png"), 50, 40, BufferedImage.TYPE_BYTE_GRAY);
        writeImage(images.resolve("tall.jpg"), 20, 33, BufferedImage.TYPE_BYTE_GRAY);
        Path out = dir.resolve("masks");
        Cli.Run r = Cli.run("segment", "--model", model.toString(), "--images", images.toString(), "--out",
                out.toString(), "--overlay");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Wrote 2 masks"), r.out());
        Set<Integer> known = new HashSet<>();
        for (int c = 0; c < 11; c++) {
            known.add(MaskImages.colour(c));
        }
        for (String[] f : new String[][] {{"wide", "50", "40"}, {"tall", "20", "33"}}) {
            BufferedImage mask = ImageIO.read(out.resolve(f[0] + "-mask.png").toFile());
            assertEquals(Integer.parseInt(f[1]), mask.getWidth(), f[0]);
            assertEquals(Integer.parseInt(f[2]), mask.getHeight(), f[0]);
            assertTrue(mask.getColorModel() instanceof IndexColorModel, "a palette PNG");
            for (int y = 0; y < mask.getHeight(); y++) {
                for (int x = 0; x < mask.getWidth(); x++) {
                    int rgb = mask.getRGB(x, y) & 0xffffff;
                    assertTrue(known.contains(rgb), "a class's colour: " + Integer.toHexString(rgb));
                    assertTrue(mask.getRaster().getSample(x, y, 0) < 11);
                }
            }
            BufferedImage overlay = ImageIO.read(out.resolve(f[0] + "-overlay.png").toFile());
            assertEquals(mask.getWidth(), overlay.getWidth());
        }
        // the masks are kept without --force
        Cli.assertBadInput(Cli.run("segment", "--model", model.toString(), "--images", images.toString(), "--out",
                out.toString()), "tall-mask.png: exists; pass --force");
        assertEquals(0, Cli.run("segment", "--model", model.toString(), "--images", images.toString(), "--out",
                out.toString(), "--force").code());
    }

    @Test
    void badInputIsOneLine() throws Exception {
        Path img = writeImage(dir.resolve("one.png"), 16, 16, BufferedImage.TYPE_BYTE_GRAY);
        Path out = dir.resolve("bad-out");
        Cli.assertBadInput(Cli.run("segment", "--model", dir.resolve("missing.zip").toString(), "--images",
                img.toString(), "--out", out.toString()), "missing.zip: no such model file");
        Path text = Files.writeString(dir.resolve("text.png"), "not a picture");
        Cli.assertBadInput(Cli.run("segment", "--model", model.toString(), "--images", text.toString(), "--out",
                out.toString()), "text.png: not an image");
        Cli.assertBadInput(Cli.run("segment", "--model", model.toString(), "--images",
                dir.resolve("nowhere.png").toString(), "--out", out.toString()), "nowhere.png: no such file");

        Path colour = writeImage(dir.resolve("colour.png"), 16, 16, BufferedImage.TYPE_INT_RGB);
        Cli.assertBadInput(Cli.run("segment", "--model", model.toString(), "--images", colour.toString(), "--out",
                out.toString()), "colour.png: is a colour image; the model takes grayscale");

        Path classifier = dir.resolve("classifier.zip");
        Path tinyDenseNet = Files.writeString(dir.resolve("dn.json"), "{\"stem\": \"CIFAR\", \"growthRate\": 4, "
                + "\"initialFilters\": 8, \"blockLayers\": [1], \"bottleneck\": false, \"compression\": 0.5}");
        ModelFiles.write(new DenseNetZooModel("tiny", Architecture.of(tinyDenseNet.toString()).config()
                .inputShape(16, 16, 1).numClasses(3).build()).init(), classifier, false);
        Cli.assertBadInput(Cli.run("segment", "--model", classifier.toString(), "--images", img.toString(), "--out",
                out.toString()), "classifier.zip", "a classifier");
        Cli.assertBadInput(Cli.run("segment", "--model", text.toString(), "--images", img.toString(), "--out",
                out.toString()), "text.png");
        // ... and the classifiers' commands refuse a segmentation model
        Cli.assertBadInput(Cli.run("predict", "--model", model.toString(), "--images", img.toString()),
                "a segmentation model (its output 'prob' is a class per pixel), not an image classifier");

        Cli.assertBadInput(Cli.run("train-segmentation", "--size", "40", "--out", dir.resolve("x.zip").toString()),
                "--size 40", "multiple of 32");
        Cli.assertBadInput(Cli.run("train-segmentation", "--model", "fc-densenet99", "--out",
                dir.resolve("x.zip").toString()), "unknown FC-DenseNet preset 'fc-densenet99'");
        Path badJson = Files.writeString(dir.resolve("bad.json"), "{\"growthRate\": 4, \"pools\": 2}");
        Cli.assertBadInput(Cli.run("train-segmentation", "--model", badJson.toString(), "--out",
                dir.resolve("x.zip").toString()), "unknown key 'pools'");
        Cli.assertBadInput(Cli.run("train-segmentation", "--size", "64", "--data-dir", dir.toString(), "--out",
                dir.resolve("x.zip").toString()), "no Fashion-MNIST files");
        assertTrue(!Files.exists(dir.resolve("x.zip")));
    }

    private static Path writeImage(Path file, int w, int h, int type) throws Exception {
        BufferedImage img = new BufferedImage(w, h, type);
        java.util.Random rnd = new java.util.Random(w * 31L + h);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rnd.nextInt(0x1000000));
            }
        }
        String format = file.toString().endsWith(".jpg") ? "jpg" : "png";
        assertTrue(ImageIO.write(img, format, file.toFile()));
        return file;
    }
}
