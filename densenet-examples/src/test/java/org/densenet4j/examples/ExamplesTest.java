package org.densenet4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.imageio.ImageIO;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.io.Images;
import org.densenet4j.keras.Fixtures;
import org.densenet4j.training.Epoch;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Each runnable example run on small data, so that none of them rots. */
class ExamplesTest {

    @TempDir
    Path dir;

    @Test
    void classifyImagesWithThePretrainedModel() throws Exception {
        List<Path> samples = FashionMnist.sampleFiles(dir.resolve("samples"));
        List<ClassifyImages.Prediction> predictions = ClassifyImages.classify("densenet-fmnist", samples);
        int right = 0;
        for (ClassifyImages.Prediction p : predictions) {
            int truth = Integer.parseInt(p.file().getFileName().toString().replaceAll("^\\d+_(\\d)\\.png$", "$1"));
            right += p.index() == truth ? 1 : 0;
            assertEquals(FashionMnist.LABELS.get(p.index()), p.label());
        }
        assertTrue(right >= 0.8 * samples.size(), right + " of " + samples.size() + " right");
        ClassifyImages.main(new String[0]); // the bundled samples, printed
    }

    @Test
    void importTorchvisionWeightsAndPredictAsTorchvisionDoes() throws Exception {
        Fixtures.TorchFixture f = Fixtures.torch("densenet-tiny", 32, 32, 2, 5);
        Path zip = dir.resolve("imported.zip");
        ImportWeights.main(new String[] {f.pth().toString(), zip.toString(), "32x32"});
        ComputationGraph net = ModelFiles.read(zip, false);
        INDArray logp = Transforms.log(CompiledGraph.inference(net).apply(Nd4j.createFromNpyFile(f.input().toFile())),
                true);
        INDArray expected = Nd4j.createFromNpyFile(f.logProbabilities().toFile());
        assertTrue(Transforms.abs(logp.sub(expected)).maxNumber().doubleValue() <= 1e-3,
                "log-probabilities as torch's");
        assertEquals("torch", ModelCard.read(zip).orElseThrow().preprocessing());
    }

    @Test
    void transferLearningOnCachedFeatures() throws Exception {
        assumeFashionMnist();
        // Three Fashion-MNIST classes as a folder of PNGs, 40 images each.
        DataSet data = FashionMnist.load(Path.of(FashionMnist.DEBIAN_DIR), true, 1000);
        int[] classes = {1, 7, 8}; // trouser, sneaker, bag
        int[] count = new int[10];
        for (int i = 0; i < data.numExamples(); i++) {
            int label = data.getLabels().getRow(i).argMax().getInt(0);
            if (java.util.Arrays.stream(classes).anyMatch(c -> c == label) && count[label] < 40) {
                Path folder = Files.createDirectories(dir.resolve("folder")
                        .resolve(FashionMnist.LABELS.get(label).replace('/', '-')));
                java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28,
                        java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
                for (int y = 0; y < 28; y++) {
                    for (int x = 0; x < 28; x++) {
                        img.getRaster().setSample(x, y, 0, (int) data.getFeatures().getDouble(i, 0, y, x));
                    }
                }
                ImageIO.write(img, "png", folder.resolve(i + ".png").toFile());
                count[label]++;
            }
        }
        double accuracy = TrainNewClassifier.run("densenet-fmnist", dir.resolve("folder"), 50, 42);
        assertTrue(accuracy >= 0.9, "held-out accuracy " + accuracy);
    }

    @Test
    void trainOnFashionMnist() throws Exception {
        assumeFashionMnist();
        Path zip = dir.resolve("fashion.zip");
        List<Epoch> epochs = TrainFashionMnist.train(Path.of(FashionMnist.DEBIAN_DIR), 3000, 1000, 1, zip);
        assertEquals(1, epochs.size());
        assertTrue(epochs.get(0).testAccuracy() > 0.3, "it learns: " + epochs.get(0));
        ImageModel trained = ImageModel.load(zip.toString());
        assertEquals(FashionMnist.LABELS, trained.labels(10));
    }

    @Test
    void serveManyThreads() throws Exception {
        ImageModel model = ImageModel.load("densenet-fmnist");
        List<INDArray> images = new ArrayList<>();
        for (Path file : FashionMnist.sampleFiles(dir.resolve("samples")).subList(0, 6)) {
            images.add(model.normalise(Images.load(List.of(file), 28, 28, 1), model.preprocessing(null, null)));
        }
        ServeManyThreads.Served served = ServeManyThreads.serve(model, images, 4, 12, 2);
        var direct = CompiledGraph.inference(model.net());
        for (int t = 0; t < 4; t++) {
            for (int r = 0; r < 12; r++) {
                INDArray expected = direct.apply(images.get((t + r) % images.size()));
                INDArray got = served.outputs().get(t).get(r);
                assertTrue(Transforms.abs(expected.sub(got)).maxNumber().doubleValue() < 1e-5,
                        "client " + t + " request " + r + " got its own image's output");
            }
        }
        assertEquals(48, served.latencies().length);
        assertTrue(served.perSecond() > 0);
    }

    private static void assumeFashionMnist() {
        assumeTrue(FashionMnist.hasTestSet(Path.of(FashionMnist.DEBIAN_DIR)),
                "Fashion-MNIST is not installed (Debian's dataset-fashion-mnist; .ci/run installs it)");
    }
}
