package org.densenet4j.cli;

import static org.densenet4j.cli.Cli.assertBadInput;
import static org.densenet4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.deeplearning4j.common.resources.DL4JResources;
import org.densenet4j.io.Npy;
import org.densenet4j.keras.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** The densenet command line, run in-process: outputs, files and the one-line errors of bad input. */
class CliTest {

    private static Fixtures.Fixture tf121;
    private static Fixtures.Fixture keras2Full;

    @TempDir
    Path dir;


    @BeforeAll
    static void fixtures() throws Exception {
        tf121 = Fixtures.get("densenet121", "keras1-tf", 224, 224, 4);
        keras2Full = Fixtures.get("densenet121", "keras2-full", 192, 160, 2);
    }

    @BeforeEach
    void emptyZooCache() throws Exception {
        DL4JResources.setBaseDirectory(Files.createDirectories(dir.resolve("cache")).toFile());
    }

    @AfterEach
    void resetZooCache() {
        DL4JResources.resetBaseDirectoryLocation();
    }



    private static void assertMatchesPyTorch(Path probabilities, Fixtures.Fixture f) throws Exception {
        INDArray p = Npy.read(probabilities);
        INDArray expected = Npy.read(f.logProbabilities());
        assertArrayEquals(expected.shape(), p.shape());
        double diff = Transforms.abs(Transforms.log(p, true).sub(expected)).maxNumber().doubleValue();
        assertTrue(diff <= 1e-3, "max |log p - log p_torch| = " + diff);
    }

    @Test
    void summaryPrintsTheTableAndTotals() {
        Cli.Run r = run("summary", "--model", "densenet-bc100-k12");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Total params: 793,150"), r.out());
        assertTrue(r.out().contains("concat_4_16"), r.out());
        Cli.Run custom = run("summary", "--model", "densenet121", "--classes", "10", "--input", "160x200x1");
        assertTrue(custom.out().contains("[1, 160, 200]"), custom.out());
        assertTrue(custom.out().contains("[1024, 5, 6]"), custom.out());
        assertTrue(custom.out().contains("Total params: 7,041,482"), custom.out());
    }

    @Test
    void convertThenPredictComputesWhatPyTorchComputes() throws Exception {
        Path zip = dir.resolve("m.zip");
        Cli.Run c = run("convert", "--weights", tf121.weights().toString(), "--model", "densenet121", "--out",
                zip.toString());
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains("keras1-tf") && c.out().contains("(densenet121)")
                && c.out().contains("1000 classes"), c.out());
        assertTrue(Files.exists(zip) && Files.exists(dir.resolve("m.zip.sha256")));

        Path y = dir.resolve("y.npy");
        Cli.Run p = run("predict", "--model", zip.toString(), "--input", tf121.input().toString(),
                "--output", y.toString(), "--batch", "3");
        assertEquals(0, p.code(), p.err());
        assertTrue(p.out().contains("[4, 1000]") && p.out().contains("CPU"), p.out());
        assertMatchesPyTorch(y, tf121);
    }

    @Test
    void aConvertedModelTakesOtherInputSizes() throws Exception {
        Path zip = dir.resolve("k2.zip");
        assertEquals(0, run("convert", "--weights", keras2Full.weights().toString(), "--out", zip.toString()).code());
        Path y = dir.resolve("y.npy");
        Cli.Run p = run("predict", "--model", zip.toString(), "--input", keras2Full.input().toString(), "--output",
                y.toString());
        assertEquals(0, p.code(), p.err());
        assertMatchesPyTorch(y, keras2Full);
    }

    @Test
    void installedModelIsWhatInitPretrainedAndPredictFind() throws Exception {
        Cli.Run missing = run("predict", "--model", "densenet121", "--input", tf121.input().toString(),
                "--output", dir.resolve("y.npy").toString());
        assertEquals(2, missing.code());
        // The tests run offline (densenet4j.offline): the library's message names the switch and the manual
        // step in library terms; the command line adds its commands, for the default (torchvision's) file.
        assertTrue(missing.err().contains("downloads are off") && missing.err().contains("to do it by hand, download "
                + org.densenet4j.keras.PretrainedWeights.TORCHVISION_121.url()), missing.err());
        assertTrue(missing.err().contains("densenet fetch --model densenet121 --force") && missing.err().contains(
                "densenet convert --weights densenet121-a639ec97.pth --model densenet121 --install"), missing.err());
        assertFalse(missing.err().contains("./densenet"), missing.err());

        Cli.Run c = run("convert", "--weights", tf121.weights().toString(), "--install");
        assertEquals(0, c.code(), c.err());
        assertTrue(c.out().contains(dir.resolve("cache/models/densenet121/densenet121_imagenet.zip").toString()),
                c.out());
        Path y = dir.resolve("y.npy");
        assertEquals(0, run("predict", "--model", "densenet121", "--input", tf121.input().toString(),
                "--output", y.toString()).code());
        assertMatchesPyTorch(y, tf121);
    }

    @Test
    void predictOnImagesPrintsTopClassesAndRejectsBadImages() throws Exception {
        Path zip = dir.resolve("m.zip");
        assertEquals(0, run("convert", "--weights", tf121.weights().toString(), "--out", zip.toString()).code());
        Path images = Fixtures.images();
        Path folder = Files.createDirectories(dir.resolve("pics"));
        Files.copy(images.resolve("rgb.png"), folder.resolve("a.png"));
        Files.copy(images.resolve("rgb.jpg"), folder.resolve("b.jpg"));
        Path y = dir.resolve("p.npy");
        Cli.Run r = run("predict", "--model", zip.toString(), "--images", folder.toString(),
                images.resolve("cmyk.jpg").toString(),
                "--size", "64x64", "--preprocess", "torch", "--top", "2", "--output", y.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains(folder.resolve("a.png") + ":  1. "), r.out());
        assertTrue(r.out().contains("  2. "), r.out());
        assertTrue(r.out().contains("3 images"), r.out());
        INDArray p = Npy.read(y);
        assertArrayEquals(new long[] {3, 1000}, p.shape());
        assertEquals(1.0, p.getRow(0).sumNumber().doubleValue(), 1e-4);

        assertBadInput(run("predict", "--model", zip.toString(), "--images", images.resolve("gray.png").toString()),
                "gray.png: is a grayscale image; the model takes RGB (3 channels)");
        assertBadInput(run("predict", "--model", zip.toString(), "--images",
                images.resolve("truncated.png").toString()),
                "truncated.png: unreadable or truncated image");
        assertBadInput(run("predict", "--model", zip.toString(), "--images", images.resolve("huge.png").toString()),
                "huge.png: claims 100000x100000 pixels");
        assertBadInput(run("predict", "--model", zip.toString(), "--images", images.resolve("empty.jpg").toString()),
                "empty.jpg: not an image this tool reads");
        Path empty = Files.createDirectories(dir.resolve("nothing"));
        assertBadInput(run("predict", "--model", zip.toString(), "--images", empty.toString()), "holds no images");
        assertBadInput(run("predict", "--model", zip.toString(), "--images", images.resolve("rgb.png").toString(),
                "--preprocess", "tf"), "unknown preprocessing 'tf'; use caffe, torch or none");
    }

    @Test
    void featuresAreThePooledOutputOfTheHeadlessGraph() throws Exception {
        Path zip = dir.resolve("m.zip");
        assertEquals(0, run("convert", "--weights", tf121.weights().toString(), "--out", zip.toString()).code());
        Path images = Fixtures.images();
        List<Path> files = List.of(images.resolve("rgb.png"), images.resolve("noisy.jpg"));
        Path npy = dir.resolve("f.npy");
        Cli.Run r = run("features", "--model", zip.toString(), "--images", files.get(0).toString(),
                files.get(1).toString(),
                "--size", "64x64", "--preprocess", "torch", "--out", npy.toString());
        assertEquals(0, r.code(), r.err());
        INDArray features = Npy.read(npy);
        assertArrayEquals(new long[] {2, 1024}, features.shape());

        var headless = org.densenet4j.keras.KerasDenseNetImporter.load(tf121.weights(),
                org.densenet4j.zoo.DenseNetPreset.DENSENET121.config().toBuilder()
                        .headless(org.densenet4j.zoo.DenseNetConfig.Pooling.AVG).build());
        INDArray x = new org.densenet4j.preprocess.ImageNetPreprocessor(
                org.densenet4j.preprocess.ImageNetPreprocessor.Mode.TORCH,
                org.densenet4j.preprocess.ImageNetPreprocessor.ChannelOrder.RGB)
                .apply(org.densenet4j.io.Images.load(files, 64, 64, 3));
        INDArray expected = headless.outputSingle(x);
        assertTrue(Transforms.abs(expected.sub(features)).maxNumber().doubleValue() < 1e-5);

        Path csv = dir.resolve("f.csv");
        assertEquals(0, run("features", "--model", zip.toString(), "--images", files.get(0).toString(),
                "--size", "64x64", "--out", csv.toString()).code());
        List<String> lines = Files.readAllLines(csv);
        assertEquals(2, lines.size());
        assertEquals(1025, lines.get(0).split(",").length);
        assertTrue(lines.get(1).startsWith("\"" + files.get(0) + "\","), lines.get(1));
        assertBadInput(run("features", "--model", zip.toString(), "--images", files.get(0).toString(),
                "--out", dir.resolve("f.txt").toString()), "--out must end in .csv or .npy");
    }

    @Test
    void benchmarkEndsWithAJsonLine() {
        Cli.Run infer = run("benchmark", "--model", "densenet-bc100-k12", "--input", "32x32", "--batch", "2",
                "--warmup", "0", "--iterations", "2", "--threads", "2");
        assertEquals(0, infer.code(), infer.err());
        String json = infer.out().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertTrue(json.matches("\\{\"model\":\"densenet-bc100-k12\",\"mode\":\"infer\",\"batch\":2,"
                + "\"input\":\"32x32\",\"median_ms\":[0-9.]+,\"min_ms\":[0-9.]+,\"images_per_s\":[0-9.]+,"
                + "\"backend\":\"CPU[^\"]*\",\"peak_rss_mb\":[0-9]+,\"engine\":\"compiled\",\"precision\":\"fp32\"}"),
                json);
        Cli.Run graph = run("benchmark", "--model", "densenet-bc100-k12", "--input", "32x32", "--engine", "graph",
                "--warmup", "0", "--iterations", "1");
        assertEquals(0, graph.code(), graph.err());
        assertTrue(graph.out().strip().endsWith(",\"engine\":\"graph\",\"precision\":\"fp32\"}"), graph.out());
        Cli.Run bf16 = run("benchmark", "--model", "densenet-bc100-k12", "--input", "32x32", "--precision", "bf16",
                "--warmup", "0", "--iterations", "1");
        assertEquals(0, bf16.code(), bf16.err());
        // bf16 where the CPU runs it natively; elsewhere fp32, and the engine's one line says why
        String ran = org.densenet4j.engine.Precision.bf16Supported() ? "bf16" : "fp32";
        assertTrue(bf16.out().strip().endsWith(",\"engine\":\"compiled\",\"precision\":\"" + ran + "\"}"), bf16.out());
        assertTrue(bf16.out().contains("compiled, " + ran), bf16.out());
        Cli.Run train = run("benchmark", "--model", "densenet-bc100-k12", "--mode", "train", "--input", "32x32",
                "--batch", "4", "--warmup", "0", "--iterations", "2");
        assertEquals(0, train.code(), train.err());
        assertTrue(train.out().contains("\"mode\":\"train\",\"batch\":4"), train.out());
        Cli.Run load = run("benchmark", "--mode", "import", "--weights", tf121.weights().toString(),
                "--warmup", "0", "--iterations", "1");
        assertEquals(0, load.code(), load.err());
        assertTrue(load.out().contains("\"mode\":\"import\""), load.out());
        assertTrue(json.contains(" 2 threads)"), "--threads is what the backend runs: " + json);
        assertBadInput(run("benchmark", "--mode", "import"), "--mode import needs --weights FILE.h5");
        assertBadInput(run("benchmark", "--threads", "0"), "--batch, --iterations and --threads must be >= 1");
        assertBadInput(run("benchmark", "--engine", "fast"), "--engine must be compiled or graph, was 'fast'");
        assertBadInput(run("benchmark", "--precision", "int8"), "--precision: precision 'int8' is not implemented yet");
        assertBadInput(run("benchmark", "--precision", "fp64"), "--precision: precision 'fp64': expected fp32 or bf16");
        assertBadInput(run("benchmark", "--mode", "train", "--precision", "bf16"),
                "--precision bf16 is for inference (--mode infer): training steps run fp32");
        assertBadInput(run("benchmark", "--engine", "graph", "--precision", "bf16"),
                "--precision bf16 needs the compiled engine (--engine compiled)");
    }

    @Test
    void benchmarkTimesTheResNetCompiledAndSaysWhereAnFcDenseNetFallsBack() {
        Cli.Run resnet = run("benchmark", "--model", "resnet18-d2l", "--input", "32x32", "--batch", "2",
                "--warmup", "0", "--iterations", "1");
        assertEquals(0, resnet.code(), resnet.err());
        assertTrue(resnet.out().contains("{\"model\":\"resnet18-d2l\",\"mode\":\"infer\",\"batch\":2,"
                + "\"input\":\"32x32x1\""), resnet.out());
        assertTrue(resnet.out().strip().endsWith(",\"engine\":\"compiled\",\"precision\":\"fp32\"}"), resnet.out());

        Cli.Run fcn = run("benchmark", "--model", "fc-densenet56", "--input", "32x32", "--batch", "1",
                "--warmup", "0", "--iterations", "1");
        assertEquals(0, fcn.code(), fcn.err());
        assertTrue(fcn.out().contains("fc-densenet56: the compiled engine cannot run it (cannot compile vertex "
                + "'transition_up8_deconv' (Deconvolution2D)"), fcn.out());
        assertTrue(fcn.out().contains(",\"engine\":\"graph\",\"precision\":\"fp32\",\"fallback\":\"cannot compile"),
                fcn.out());
        Cli.Run fcnTrain = run("benchmark", "--model", "fc-densenet56", "--mode", "train", "--input", "32x32",
                "--batch", "1", "--warmup", "0", "--iterations", "1");
        assertEquals(0, fcnTrain.code(), fcnTrain.err());
        assertTrue(fcnTrain.out().contains("the compiled engine cannot run it (cannot compile vertex "
                + "'conv2_1_x2_drop' for training"), fcnTrain.out());
        assertBadInput(run("benchmark", "--model", "resnet18-d2l", "--mode", "import", "--weights", "w.h5"),
                "--mode import reads Keras DenseNet weights; resnet18-d2l is not a DenseNet");
        assertBadInput(run("benchmark", "--model", "fc-densenet56", "--input", "30x30"), "fc-densenet56: ");
    }

    @Test
    void aTrainingBatchTooLargeForNativeMemoryIsOneLineBeforeTheFirstStep() {
        // 20,000 32x32 images: a 245 MB input, a plan of tens of GB, over the tests' 12 GB limit.
        assertBadInput(run("benchmark", "--model", "densenet121", "--mode", "train", "--input", "32x32",
                "--batch", "20000", "--warmup", "0", "--iterations", "1"),
                "densenet121: training a batch of [20000, 3, 32, 32] with the compiled trainer needs ",
                "MB are available", "train a smaller batch", "DENSENET_NATIVE_MEMORY=SIZE");
    }

    @Test
    void existingFilesAreNotReplacedWithoutForce() throws Exception {
        Path zip = dir.resolve("m.zip");
        Files.writeString(zip, "precious");
        assertBadInput(run("convert", "--weights", tf121.weights().toString(), "--out", zip.toString()),
                "exists; pass --force to replace it");
        assertEquals("precious", Files.readString(zip));

        Path y = dir.resolve("y.npy");
        Files.writeString(y, "precious");
        assertBadInput(run("predict", "--model", "whatever.zip", "--input", tf121.input().toString(), "--output",
                y.toString()),
                y + ": exists; pass --force");
        assertEquals("precious", Files.readString(y));
    }

    @Test
    void badInputGetsOneClearLine() throws Exception {
        assertBadInput(run("summary", "--model", "densenet122"), "unknown DenseNet preset 'densenet122'");
        assertBadInput(run("summary", "--model", "densenet121", "--input", "8x8x3"),
                "inputHeight 8 is too small", "at least 29 pixels");
        assertBadInput(run("summary", "--model", "densenet121", "--input", "big"), "--input 'big' is not HxWxC");
        assertBadInput(run("convert", "--weights", dir.resolve("none.h5").toString(), "--out",
                dir.resolve("a.zip").toString()),
                "none.h5: no such file");
        assertBadInput(run("convert", "--weights", tf121.weights().toString(), "--model", "densenet169",
                "--out", dir.resolve("b.zip").toString()), "does not fit the graph", "(densenet121)");
        assertBadInput(run("convert", "--weights", tf121.weights().toString(), "--layout", "keras3",
                "--out", dir.resolve("c.zip").toString()), "unknown weight layout 'keras3'");
        assertFalse(Files.exists(dir.resolve("b.zip")) || Files.exists(dir.resolve("c.zip")));

        Path zip = dir.resolve("m.zip");
        assertEquals(0, run("convert", "--weights", tf121.weights().toString(), "--out", zip.toString()).code());
        Path gray = dir.resolve("gray.npy");
        Npy.write(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 1, 64, 64), gray);
        assertBadInput(run("predict", "--model", zip.toString(), "--input", gray.toString(), "--output",
                dir.resolve("y.npy").toString()), "gray.npy: shape [2, 1, 64, 64] is not [N, 3, H, W]");
        Path text = dir.resolve("text.npy");
        Files.writeString(text, "not numpy");
        assertBadInput(run("predict", "--model", zip.toString(), "--input", text.toString(), "--output",
                dir.resolve("y.npy").toString()), "text.npy: not a .npy file");
        Path fake = dir.resolve("fake.zip");
        Files.writeString(fake, "not a zip");
        assertBadInput(run("predict", "--model", fake.toString(), "--input", tf121.input().toString(), "--output",
                dir.resolve("y.npy").toString()), "fake.zip: not a DL4J model zip (not a zip file)");
        Path other = dir.resolve("other.zip");
        var notDenseNet =
                new org.deeplearning4j.nn.graph.ComputationGraph(new org.deeplearning4j.nn.conf.NeuralNetConfiguration
                .Builder().graphBuilder().addInputs("in")
                .addLayer("out", new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder().nIn(4).nOut(2).build(),
                "in")
                .setOutputs("out").build());
        notDenseNet.init();
        org.densenet4j.zoo.io.ModelFiles.write(notDenseNet, other, false);
        assertBadInput(run("predict", "--model", other.toString(), "--input", tf121.input().toString(), "--output",
                dir.resolve("y.npy").toString()), "other.zip: a DL4J model, but not a DenseNet");
        assertFalse(Files.exists(dir.resolve("y.npy")), "no output is written on failure");
    }
}
