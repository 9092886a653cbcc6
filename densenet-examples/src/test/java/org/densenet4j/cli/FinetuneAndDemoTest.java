package org.densenet4j.cli;

import static org.densenet4j.cli.Cli.assertBadInput;
import static org.densenet4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code densenet finetune} on a tiny generated image folder and {@code densenet demo} through initPretrained. */
class FinetuneAndDemoTest {

    @TempDir
    Path dir;


    @BeforeEach
    void emptyZooCache() throws Exception {
        DL4JResources.setBaseDirectory(Files.createDirectories(dir.resolve("cache")).toFile());
    }

    @AfterEach
    void resetZooCache() {
        DL4JResources.resetBaseDirectoryLocation();
    }



    /** A folder per class of small noisy colour images, each class with its own dominant colour. */
    private Path imageFolder(String... classes) throws Exception {
        Path root = Files.createDirectories(dir.resolve("images"));
        Random rnd = new Random(3);
        for (int c = 0; c < classes.length; c++) {
            Path folder = Files.createDirectories(root.resolve(classes[c]));
            for (int i = 0; i < 6; i++) {
                BufferedImage img = new BufferedImage(40, 36, BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 36; y++) {
                    for (int x = 0; x < 40; x++) {
                        int v = rnd.nextInt(80);
                        img.setRGB(x, y, c == 0 ? (175 + v) << 16 | v << 8 | v : v << 16 | v << 8 | (175 + v));
                    }
                }
                ImageIO.write(img, "png", folder.resolve(classes[c] + i + ".png").toFile());
            }
        }
        return root;
    }

    private Path tinyColourModel() throws Exception {
        DenseNetConfig config = DenseNetConfig.builder().stem(DenseNetConfig.Stem.CIFAR).growthRate(4)
                .initialFilters(8).blockLayers(2, 2).bottleneck(true).compression(0.5).numClasses(5)
                .inputShape(32, 32, 3).build();
        Path zip = dir.resolve("base.zip");
        ModelFiles.write(new DenseNetZooModel("tiny", config).init(), zip, false);
        return zip;
    }

    @Test
    void finetuneReplacesFc6FreezesTheLayersAskedForAndStoresTheClassNames() throws Exception {
        Path base = tinyColourModel();
        Path images = imageFolder("red", "blue");
        Path out = dir.resolve("tuned.zip");
        Cli.Run r = run("finetune", "--model", base.toString(), "--images", images.toString(), "--freeze-until",
                "pool2",
                "--epochs", "2", "--batch", "4", "--size", "32x32", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("2 classes [blue, red], 12 images (2 held out) at 32x32x3; frozen up to pool2; "
                + "every image through the network every epoch"), r.out());
        assertTrue(r.out().contains("epoch 2/2: loss") && r.out().contains("validation acc"), r.out());

        ComputationGraph before = ModelFiles.read(base, true);
        ComputationGraph after = ModelFiles.read(out, true);
        assertEquals(2, after.getLayer("fc6").getParam("W").size(1));
        assertEquals(before.getLayer("conv2_1_x1").getParam("W"), after.getLayer("conv2_1_x1").getParam("W"),
                "layers up to pool2 are frozen");
        assertNotEquals(before.getLayer("conv3_2_x2").getParam("W"), after.getLayer("conv3_2_x2").getParam("W"),
                "layers after pool2 train");
        List<String> labels = ModelSerializer.getObjectFromFile(out.toFile(), "labels");
        assertEquals(List.of("blue", "red"), labels);

        // predict prints the stored class names.
        Cli.Run p = run("predict", "--model", out.toString(), "--images", images.resolve("red").toString(),
                "--size", "32x32", "--top", "2");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("red0.png:  1. "), p.out());
        assertTrue(p.out().contains("blue (") && p.out().contains("red ("), p.out());
    }

    @Test
    void validationZeroTrainsOnEveryImage() throws Exception {
        Path images = imageFolder("red", "blue");
        Path out = dir.resolve("all.zip");
        Cli.Run r = run("finetune", "--model", tinyColourModel().toString(), "--images", images.toString(),
                "--validation", "0", "--epochs", "2", "--batch", "4", "--size", "32x32", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("12 images (0 held out)"), r.out());
        assertTrue(r.out().contains("epoch 2/2: loss") && !r.out().contains("validation"), r.out());
        assertEquals(List.of("blue", "red"), ModelFiles.readLabels(out).orElseThrow());
        assertBadInput(run("finetune", "--model", dir.resolve("base.zip").toString(), "--images", images.toString(),
                "--validation", "1", "--out", dir.resolve("x.zip").toString()),
                "--validation must be at least 0 and below 1, was 1.0");
    }

    @Test
    void aStoppedFinetuneResumesFromItsCheckpointToTheSameEpochs() throws Exception {
        Path base = tinyColourModel();
        Path images = imageFolder("red", "blue");
        String[] common = {"finetune", "--model", base.toString(), "--images", images.toString(), "--epochs", "2",
            "--batch", "4", "--size", "32x32", "--force"};
        Cli.Run whole = run(concat(common, "--out", dir.resolve("whole.zip").toString()));
        assertEquals(0, whole.code(), whole.err());

        // A run that cannot write its model (its --out is a folder) stops after training: its checkpoint stays.
        Path out = Files.createDirectories(dir.resolve("stopped.zip"));
        Files.writeString(out.resolve("in-the-way"), "x");
        Cli.Run stopped = run(concat(common, "--out", out.toString()));
        assertTrue(stopped.code() != 0, stopped.out());
        assertTrue(Files.exists(dir.resolve("stopped-checkpoint.zip")), "the checkpoint after epoch 1 is kept");

        Files.delete(out.resolve("in-the-way"));
        Files.delete(out);
        Cli.Run resumed = run(concat(common, "--out", out.toString(), "--resume"));
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("resuming after epoch 1"), resumed.out());
        assertEquals(epochLine(whole.out(), 2), epochLine(resumed.out(), 2));
        assertTrue(Files.notExists(dir.resolve("stopped-checkpoint.zip")), "a finished run removes its checkpoint");
        assertEquals(ModelFiles.read(dir.resolve("whole.zip"), true).params(), ModelFiles.read(out, true).params(),
                "the resumed run ends with the same weights");
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void finetuneBadInputIsOneLineAndWritesNothing() throws Exception {
        Path base = tinyColourModel();
        Path images = imageFolder("red", "blue");
        Path out = dir.resolve("tuned.zip");
        assertBadInput(run("finetune", "--model", base.toString(), "--images", images.toString(), "--freeze-until",
                "conv9_9", "--out", out.toString()), "--freeze-until 'conv9_9': no such layer before fc6");
        assertBadInput(run("finetune", "--model", base.toString(), "--images", images.resolve("red").toString(),
                "--out", out.toString()), "has 0 class subfolder(s); at least 2 are needed");
        Files.createDirectories(images.resolve("empty"));
        assertBadInput(run("finetune", "--model", base.toString(), "--images", images.toString(),
                "--out", out.toString()), "empty: holds no images");
        Files.delete(images.resolve("empty"));
        assertBadInput(run("finetune", "--model", dir.resolve("none.zip").toString(), "--images", images.toString(),
                "--out", out.toString()), "none.zip: no such file");
        assertFalse(Files.exists(out));
    }

    @Test
    void demoClassifiesWithTheCachedFashionMnistModelAndFallsBackToTheShippedSamples() throws Exception {
        // A briefly trained model of the demo's architecture, installed where initPretrained() looks.
        Path trained = dir.resolve("fm.zip");
        StringWriter err = new StringWriter();
        assertEquals(0, DenseNetCli.run(new String[] {"train", "--model", "densenet-fmnist", "--epochs", "1",
                "--batch", "32", "--limit", "64", "--test-limit", "32", "--out", trained.toString()},
                new PrintWriter(new StringWriter(), true), new PrintWriter(err, true)), err.toString());
        Path cached = ModelFiles.cachedModel("densenet-fmnist", PretrainedType.MNIST);
        Files.createDirectories(cached.getParent());
        Files.copy(trained, cached);
        Files.copy(ModelFiles.checksumFile(trained), ModelFiles.checksumFile(cached));

        Cli.Run r = run("demo", "--limit", "50", "--show", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("loaded with initPretrained() from " + cached), r.out());
        assertTrue(r.out().contains("Backend: CPU"), r.out());
        assertTrue(r.out().contains("Images: 50 Fashion-MNIST test images"), r.out());
        Matcher rows = Pattern.compile("(?m)^\\s*\\d+  \\S.*( \\d\\.\\d{3}\\b.*){3}$").matcher(r.out());
        int shown = 0;
        while (rows.find()) {
            shown++;
        }
        assertEquals(3, shown, r.out());
        Matcher acc = Pattern.compile("Accuracy: (\\d+\\.\\d+)% \\((\\d+) of 50 images\\)").matcher(r.out());
        assertTrue(acc.find(), r.out());
        assertEquals(Double.parseDouble(acc.group(2)) * 2, Double.parseDouble(acc.group(1)), 1e-9);
        assertTrue(r.out().matches("(?s).*Latency: \\d+\\.\\d+ ms per image in batches of 100, "
                + "\\d+\\.\\d+ ms for one image alone.*"),
                r.out());

        Cli.Run samples = run("demo", "--data-dir", dir.resolve("nowhere").toString(), "--show", "0");
        assertEquals(0, samples.code(), samples.err());
        assertTrue(samples.out().contains("the 30 sample test images shipped with DenseNet4J"), samples.out());
        assertTrue(samples.out().contains("apt-get install dataset-fashion-mnist"), samples.out());
        assertTrue(samples.out().contains("of 30 images)"), samples.out());
    }

    @Test
    void aPresetIdLoadsThePresetsOwnPretrainedModelInEveryCommandThatLoadsOne() throws Exception {
        // densenet-fmnist's pretrained model is the bundled Fashion-MNIST one (PretrainedType.MNIST),
        // installed into the empty zoo cache on first use, with its labels and input scaling.
        Path root = Files.createDirectories(dir.resolve("gray"));
        Random rnd = new Random(5);
        for (String cls : List.of("dark", "light")) {
            Path folder = Files.createDirectories(root.resolve(cls));
            for (int i = 0; i < 4; i++) {
                BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < 28; y++) {
                    for (int x = 0; x < 28; x++) {
                        int v = (cls.equals("dark") ? 0 : 150) + rnd.nextInt(100);
                        img.getRaster().setSample(x, y, 0, v);
                    }
                }
                ImageIO.write(img, "png", folder.resolve(cls + i + ".png").toFile());
            }
        }
        Path probabilities = dir.resolve("p.npy");
        Cli.Run p = run("predict", "--model", "densenet-fmnist", "--images", root.resolve("dark").toString(),
                "--output", probabilities.toString());
        assertEquals(0, p.code(), p.err());
        Path cached = ModelFiles.cachedModel("densenet-fmnist", PretrainedType.MNIST);
        List<String> labels = ModelSerializer.getObjectFromFile(cached.toFile(), "labels");
        assertTrue(p.out().contains("dark0.png:  1. ") && labels.stream().anyMatch(l -> p.out().contains(" " + l
                + " (")),
                "the stored class names: " + p.out());

        // The same numbers as the model's own pipeline: 28x28 grayscale, the stored scaling, the graph.
        ComputationGraph net = ModelFiles.read(cached, false);
        List<Path> files = PredictCommand.imageFiles(List.of(root.resolve("dark")));
        org.nd4j.linalg.api.ndarray.INDArray x = org.densenet4j.io.Images.load(files, 28, 28, 1);
        org.nd4j.linalg.dataset.api.preprocessor.DataNormalization scaling =
                ModelSerializer.restoreNormalizerFromFile(cached.toFile());
        scaling.transform(x);
        org.nd4j.linalg.api.ndarray.INDArray expected = net.outputSingle(x);
        org.nd4j.linalg.api.ndarray.INDArray actual = org.densenet4j.io.Npy.read(probabilities);
        assertTrue(expected.equalsWithEps(actual, 1e-4), "predict normalises as the model was trained:\n"
                + expected + "\n" + actual);

        Path features = dir.resolve("f.npy");
        Cli.Run f = run("features", "--model", "densenet-fmnist", "--images", root.resolve("light").toString(),
                "--out", features.toString());
        assertEquals(0, f.code(), f.err());
        assertEquals(4, org.densenet4j.io.Npy.read(features).size(0));

        Path tuned = dir.resolve("tuned.zip");
        Cli.Run t = run("finetune", "--model", "densenet-fmnist", "--images", root.toString(), "--epochs", "1",
                "--batch", "4", "--out", tuned.toString());
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().contains("2 classes [dark, light], 8 images (2 held out) at 28x28x1; frozen up to pool4; "
                + "fc6 trained on the backbone's features, computed once"), t.out());
        // The features computed once train fc6 exactly as running every image through the frozen network does.
        Cli.Run through = run("finetune", "--model", "densenet-fmnist", "--images", root.toString(), "--epochs", "1",
                "--batch", "4", "--through-network", "--out", dir.resolve("through.zip").toString());
        assertEquals(0, through.code(), through.err());
        assertEquals(epochLine(t.out()), epochLine(through.out()));
        // A fine-tuned grayscale model predicts on grayscale images (its frozen first convolution takes one channel).
        Cli.Run tunedPredict = run("predict", "--model", tuned.toString(), "--images", root.resolve("dark").toString());
        assertEquals(0, tunedPredict.code(), tunedPredict.err());
        assertTrue(tunedPredict.out().contains("1. dark (") || tunedPredict.out().contains("1. light ("),
                tunedPredict.out());
    }

    @Test
    void theShippedModelReaches93PercentOnTheFashionMnistTestSet() throws Exception {
        // The real thing: an empty zoo cache, the model bundled in densenet-zoo, all 10,000 test images.
        Cli.Run r = run("demo", "--show", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("loaded with initPretrained() from "), r.out());
        assertTrue(r.out().contains("Images: 10,000 Fashion-MNIST test images"), r.out());
        Matcher acc = Pattern.compile("Accuracy: (\\d+\\.\\d+)% \\(([\\d,]+) of 10,000 images\\)").matcher(r.out());
        assertTrue(acc.find(), r.out());
        assertTrue(Double.parseDouble(acc.group(1)) >= 93.0, "test accuracy " + acc.group(1) + "%");
    }

    /** The first epoch's losses and accuracies, without its time. */
    private static String epochLine(String out) {
        return epochLine(out, 1);
    }

    /** Epoch {@code n}'s losses and accuracies, without its time. */
    private static String epochLine(String out, int n) {
        return out.lines().filter(l -> l.startsWith("epoch " + n + "/")).findFirst().orElseThrow()
                .replaceAll("\\s+[0-9.]+ s$", "");
    }
}
