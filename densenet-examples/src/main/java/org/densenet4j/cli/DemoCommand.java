package org.densenet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.zoo.PretrainedType;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.preprocess.ImageNetClasses;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.indexing.NDArrayIndex;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code densenet demo}: the bundled Fashion-MNIST DenseNet, loaded through {@code initPretrained()}
 * as any user would, classifying the Fashion-MNIST test images.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Load the DenseNet this project trained on Fashion-MNIST (bundled in densenet-zoo, installed "
                + "into the DL4J zoo cache by initPretrained()), classify the Fashion-MNIST test images (Debian's "
                + "dataset-fashion-mnist, or the samples shipped with the examples), and print the top-3 classes "
                + "per image, the accuracy, the latency per image and the backend."})
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", defaultValue = FashionMnist.DEBIAN_DIR,
            description = "Folder of the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}); without them the "
                    + "shipped sample images are used.")
    Path dataDir;

    @Option(names = "--limit", defaultValue = "0", description = "Classify only the first N test images (0: all).")
    int limit;

    @Option(names = "--show", defaultValue = "10",
            description = "Images whose top-3 is printed (default: ${DEFAULT-VALUE}).")
    int show;

    @Option(names = "--batch", defaultValue = "100",
            description = "Images per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;


    @Mixin
    PrecisionOption precision;

    @Override
    public Integer call() throws Exception {
        if (limit < 0 || show < 0 || batch < 1) {
            throw new UserError("--limit and --show must be >= 0 and --batch >= 1");
        }
        PrintWriter o = spec.commandLine().getOut();
        DenseNetPreset preset = DenseNetPreset.FASHION_MNIST;
        long t0 = System.nanoTime();
        ComputationGraph net;
        try {
            net = DenseNetZooModel.of(preset).initPretrained();
        } catch (IOException e) {
            throw PretrainedAdvice.of(preset, e);
        }
        Path zip = ModelFiles.cachedModel(preset.id(), PretrainedType.MNIST);
        List<String> labels = ModelFiles.readLabels(zip).orElse(FashionMnist.LABELS);
        DataNormalization scaling = (DataNormalization) ModelFiles.readNormalizer(zip).orElseThrow(
                () -> new UserError(zip + ": the demo model has no stored input scaling; run `densenet fetch` again"));
        o.printf(Locale.ROOT, "Model: %s, %,d parameters, loaded with initPretrained() from %s in %.1f s%n",
                preset.description(), net.numParams(), zip, (System.nanoTime() - t0) / 1e9);
        o.println("Backend: " + Backend.describe() + ", " + precision.effective());

        DataSet data;
        if (FashionMnist.hasTestSet(dataDir)) {
            data = FashionMnist.load(dataDir, false, limit);
            o.printf("Images: %,d Fashion-MNIST test images from %s%n", data.numExamples(), dataDir);
        } else {
            data = FashionMnist.samples();
            if (limit > 0 && limit < data.numExamples()) {
                data = new DataSet(data.getFeatures().get(NDArrayIndex.interval(0, limit)).dup(),
                        data.getLabels().get(NDArrayIndex.interval(0, limit)).dup());
            }
            o.printf("Images: the %d sample test images shipped with DenseNet4J (%s has no test set; for all "
                    + "10,000: apt-get install dataset-fashion-mnist)%n", data.numExamples(), dataDir);
        }
        if (scaling != null) {
            scaling.transform(data.getFeatures());
        }

        int n = data.numExamples();
        INDArray probabilities = org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, n,
                labels.size());
        // the zoo's default inference engine
        UnaryOperator<INDArray> infer = CompiledGraph.inference(net, precision.engineOptions());
        infer.apply(data.getFeatures().get(NDArrayIndex.interval(0, Math.min(n, batch)))); // warm-up
        Progress progress = new Progress(o, "classifying", (n + batch - 1) / batch);
        long start = System.nanoTime();
        for (int from = 0, step = 0; from < n; from += batch) {
            int to = Math.min(n, from + batch);
            probabilities.get(NDArrayIndex.interval(from, to), NDArrayIndex.all())
                    .assign(infer.apply(data.getFeatures().get(NDArrayIndex.interval(from, to))));
            progress.update(++step, "");
        }
        double batchedMs = (System.nanoTime() - start) / 1e6 / n;
        progress.done(String.format(Locale.ROOT, "%,d images", n));
        double singleMs = singleImageLatency(infer, data.getFeatures(), Math.min(n, 20));

        int shown = Math.min(show, n);
        if (shown > 0) {
            o.printf("%n%5s  %-12s  %s%n", "image", "true class", "top-3 predicted classes (probability)");
        }
        List<List<ImageNetClasses.Prediction>> tops = ImageNetClasses.topK(probabilities, 3, labels);
        INDArray truths = data.getLabels().argMax(1);
        int correct = 0;
        for (int i = 0; i < n; i++) {
            List<ImageNetClasses.Prediction> top = tops.get(i);
            int truth = truths.getInt(i);
            boolean right = top.get(0).index() == truth;
            correct += right ? 1 : 0;
            if (i < shown) {
                StringBuilder sb = new StringBuilder();
                for (ImageNetClasses.Prediction p : top) {
                    sb.append(String.format(Locale.ROOT, "%-12s %.3f   ", p.label(), p.probability()));
                }
                o.printf("%5d  %-12s  %s%s%n", i, labels.get(truth), sb.toString().stripTrailing(),
                        right ? "" : "   (wrong)");
            }
        }
        o.printf(Locale.ROOT, "%nAccuracy: %.2f%% (%,d of %,d images)%n", 100.0 * correct / n, correct, n);
        o.printf(Locale.ROOT, "Latency: %.2f ms per image in batches of %d, %.1f ms for one image alone%n",
                batchedMs, batch, singleMs);
        return 0;
    }

    /** Median time of classifying single images, in ms. */
    private static double singleImageLatency(UnaryOperator<INDArray> infer, INDArray features, int images) {
        double[] ms = new double[images];
        for (int i = 0; i < images; i++) {
            INDArray x = features.get(NDArrayIndex.interval(i, i + 1));
            long t = System.nanoTime();
            infer.apply(x);
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return ms[images / 2];
    }
}
