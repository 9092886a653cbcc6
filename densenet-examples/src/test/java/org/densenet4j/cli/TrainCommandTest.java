package org.densenet4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.imageio.ImageIO;

import org.deeplearning4j.util.ModelSerializer;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code densenet train} on a few Fashion-MNIST records (Debian's dataset-fashion-mnist) with a tiny DenseNet. */
class TrainCommandTest {

    private static final String TINY = "{\"stem\": \"CIFAR\", \"growthRate\": 4, \"initialFilters\": 8, "
            + "\"blockLayers\": [2, 2], \"bottleneck\": true, \"compression\": 0.5}";

    @TempDir
    Path dir;

    private static int run(StringWriter out, StringWriter err, String... args) {
        return DenseNetCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    }

    @Test
    void aShortRunWritesTheModelItsLabelsTheCurvesAndThePlot() throws Exception {
        Path config = Files.writeString(dir.resolve("tiny.json"), TINY);
        Path zip = dir.resolve("fm.zip");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = run(out, err, "train", "--model", config.toString(), "--epochs", "2", "--batch", "32",
                "--limit", "96", "--test-limit", "64", "--out", zip.toString());
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("epoch 2/2: loss"), out.toString());

        assertEquals(10, ModelFiles.read(zip, true).getLayer("fc6").getParam("b").length());
        List<String> labels = ModelSerializer.getObjectFromFile(zip.toFile(), "labels");
        assertEquals(FashionMnist.LABELS, labels);
        assertNotNull(ModelSerializer.restoreNormalizerFromFile(zip.toFile()), "input scaling is stored");
        org.densenet4j.zoo.DenseNetConfig trained = org.densenet4j.zoo.DenseNetConfig.fromJson(
                org.densenet4j.zoo.io.ModelCard.read(zip).orElseThrow().architecture()).build();
        assertEquals(4, trained.growthRate(), "the card records the architecture");
        assertEquals(28, trained.inputHeight());
        assertEquals(10, trained.numClasses());

        List<String> csv = Files.readAllLines(dir.resolve("fm-curves.csv"));
        assertEquals("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_s", csv.get(0));
        assertEquals(3, csv.size());
        assertTrue(csv.get(2).startsWith("2,"), csv.get(2));
        var png = ImageIO.read(dir.resolve("fm-curves.png").toFile());
        assertEquals(900, png.getWidth());

        // Existing outputs are kept without --force.
        StringWriter again = new StringWriter();
        assertEquals(2, run(new StringWriter(), again, "train", "--model", config.toString(), "--limit", "32",
                "--out", zip.toString()));
        assertTrue(again.toString().contains("fm.zip: exists; pass --force"), again.toString());
    }

    /** Two classes of small colour images, dark and bright, in class subfolders. */
    private Path imageFolder() throws Exception {
        Path root = dir.resolve("folder");
        java.util.Random rnd = new java.util.Random(5);
        for (String cls : List.of("bright", "dark")) {
            Path sub = Files.createDirectories(root.resolve(cls));
            for (int i = 0; i < 10; i++) {
                var img = new java.awt.image.BufferedImage(20, 18, java.awt.image.BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 18; y++) {
                    for (int x = 0; x < 20; x++) {
                        int v = (cls.equals("bright") ? 160 : 0) + rnd.nextInt(96);
                        img.setRGB(x, y, v << 16 | v << 8 | v);
                    }
                }
                ImageIO.write(img, "png", sub.resolve(cls + i + ".png").toFile());
            }
        }
        return root;
    }

    @Test
    void aFolderOfClassSubfoldersTrainsWithAHeldOutTestSet() throws Exception {
        Path config = Files.writeString(dir.resolve("tiny.json"), TINY);
        Path folder = imageFolder();
        Path zip = dir.resolve("folder.zip");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(0, run(out, err, "train", "--dataset", folder.toString(), "--model", config.toString(),
                "--epochs", "1", "--batch", "4", "--input", "16x16x3", "--out", zip.toString()), err.toString());
        assertTrue(out.toString().contains("on " + folder + ": 16 training, 4 test images"), out.toString());
        List<String> labels = ModelSerializer.getObjectFromFile(zip.toFile(), "labels");
        assertEquals(List.of("bright", "dark"), labels);
        assertEquals(2, ModelFiles.read(zip, true).getLayer("fc6").getParam("b").length());

        Files.createDirectories(folder.resolve("empty"));
        StringWriter err2 = new StringWriter();
        Path none = dir.resolve("none.zip");
        assertEquals(2, run(new StringWriter(), err2, "train", "--dataset", folder.toString(), "--model",
                config.toString(), "--out", none.toString()));
        assertTrue(err2.toString().contains("empty: holds no images"), err2.toString());
        assertEquals(1, err2.toString().strip().lines().count(), err2.toString());
        StringWriter err3 = new StringWriter();
        assertEquals(2, run(new StringWriter(), err3, "train", "--dataset", dir.resolve("nowhere").toString(),
                "--out", none.toString()));
        assertTrue(err3.toString().contains("neither fashion-mnist nor a folder"), err3.toString());
        assertFalse(Files.exists(none));
    }

    @Test
    void badDataOrConfigurationIsOneLineAndWritesNothing() throws Exception {
        Path zip = dir.resolve("none.zip");
        StringWriter err = new StringWriter();
        assertEquals(2, run(new StringWriter(), err, "train", "--data-dir", dir.resolve("nowhere").toString(),
                "--out", zip.toString()));
        assertTrue(err.toString().contains(
                "no such file; install Fashion-MNIST with 'apt-get install dataset-fashion-mnist'"),
                err.toString());
        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"growthRate\": 0}");
        StringWriter err2 = new StringWriter();
        assertEquals(2, run(new StringWriter(), err2, "train", "--model", bad.toString(), "--out", zip.toString()));
        assertTrue(err2.toString().contains("growthRate must be > 0, was 0"), err2.toString());
        StringWriter err3 = new StringWriter();
        assertEquals(2, run(new StringWriter(), err3, "train", "--model", "densenet121", "--limit", "32",
                "--out", zip.toString()));
        assertTrue(err3.toString().contains("inputHeight 28 is too small"), err3.toString());
        assertFalse(Files.exists(zip));
    }

    @Test
    void aKilledTrainingLeavesNoModelAndResumesFromItsCheckpointToTheSameResult() throws Exception {
        Path config = Files.writeString(dir.resolve("tiny.json"), TINY);
        Path zip = dir.resolve("killed.zip");
        Path checkpoint = dir.resolve("killed-checkpoint.zip");
        Path log = dir.resolve("train.log");
        List<String> args = List.of("train", "--model", config.toString(), "--epochs", "3", "--batch", "32",
                "--limit", "320", "--test-limit", "64", "--out", zip.toString());
        // Killed once the first epoch's checkpoint is in place (the run stops itself there, so the
        // kill does not depend on the machine's speed): the model is written only after the last epoch.
        Path stopped = dir.resolve("stopped");
        List<String> command = new java.util.ArrayList<>(List.of("RENAMED", stopped.toString()));
        command.addAll(args);
        Process p = org.densenet4j.zoo.io.StoppedWriter.start(StoppedCli.class, log, command.toArray(String[]::new));
        org.densenet4j.zoo.io.StoppedWriter.killWhenStopped(p, stopped, log);
        assertFalse(Files.exists(zip), "no model after a killed run");
        assertFalse(Files.exists(dir.resolve("killed-curves.csv")), "no curves after a killed run");
        assertTrue(Files.exists(checkpoint));

        // The checkpoint is neither ignored nor overwritten without --resume.
        StringWriter err = new StringWriter();
        assertEquals(2, run(new StringWriter(), err, args.toArray(String[]::new)));
        assertTrue(err.toString().contains("killed-checkpoint.zip: an earlier run stopped here; pass --resume"),
                err.toString());

        StringWriter out = new StringWriter();
        StringWriter err2 = new StringWriter();
        List<String> resumed = new java.util.ArrayList<>(args);
        resumed.add("--resume");
        assertEquals(0, run(out, err2, resumed.toArray(String[]::new)), err2.toString());
        assertTrue(out.toString().contains("resuming after epoch 1"), out.toString());
        assertFalse(out.toString().contains("epoch 1/3: loss"), out.toString());
        assertEquals(4, Files.readAllLines(dir.resolve("killed-curves.csv")).size());
        assertFalse(Files.exists(checkpoint), "the checkpoint goes once the run is complete");

        // The same run without interruption ends with the same weights.
        Path whole = dir.resolve("whole.zip");
        List<String> uninterrupted = new java.util.ArrayList<>(args);
        uninterrupted.set(uninterrupted.indexOf(zip.toString()), whole.toString());
        assertEquals(0, run(new StringWriter(), new StringWriter(), uninterrupted.toArray(String[]::new)));
        var a = ModelFiles.read(zip, true).params();
        var b = ModelFiles.read(whole, true).params();
        double diff = a.sub(b).amaxNumber().doubleValue();
        assertTrue(diff < 1e-4, "resumed and uninterrupted runs differ by " + diff);
    }
}
