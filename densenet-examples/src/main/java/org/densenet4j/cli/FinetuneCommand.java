package org.densenet4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.dl4j.FastPath;
import org.densenet4j.examples.ImageFolder;
import org.densenet4j.io.Images;
import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.training.BatchAccuracy;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code densenet finetune}: DL4J's TransferLearning on a folder of images with one subfolder per
 * class. {@code fc6} is replaced by a classifier of the folder's classes; the layers up to
 * {@code --freeze-until} are frozen.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Fine-tune a DenseNet on a folder of images with one subfolder per class (DL4J TransferLearning): "
                + "fc6 is replaced by a new classifier with one output per subfolder, the layers up to and including "
                + "--freeze-until are frozen, and the rest trains with SGD + Nesterov momentum. Writes a model zip "
                + "with the class names stored in it, only when complete."})
final class FinetuneCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true,
            description = "A preset with pretrained weights in the zoo cache (e.g. densenet121), or a model zip.")
    String model;

    @Option(names = "--images", required = true, description = "Folder with one subfolder of images per class.")
    Path images;

    @Option(names = "--freeze-until",
            description = "Last frozen layer (default: the classifier's input, so only fc6 trains).")
    String freezeUntil;

    @Option(names = "--epochs", defaultValue = "3", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "16", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", defaultValue = "0.01", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--size", description = "Images are resized to HxW (default: the preset's input; for a model zip 224x224, or 28x28 "
                    + "for a grayscale model).")
    String size;

    @Option(names = "--preprocess", description = "caffe, torch or none, for colour models without a stored scaling "
            + "(default: what the model records).")
    String preprocess;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "The model zip to write.")
    Path out;

    @Option(names = "--force", description = "Replace an existing model zip.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || batch < 1) {
            throw new UserError("--epochs and --batch must be >= 1");
        }
        if (Files.exists(out) && !force) {
            throw new UserError(out + ": exists; pass --force to replace it");
        }
        if (preprocess != null) {
            ImageNetPreprocessor.Mode.fromId(preprocess); // a typo fails before the model loads
        }
        ImageFolder folder = ImageFolder.scan(images);
        List<String> classes = folder.classes();
        List<Path> files = folder.files();
        List<Integer> labels = folder.labels();

        ImageModel loaded = Models.load(model);
        ComputationGraph base = loaded.net();
        ImageNetPreprocessor.Mode mode = loaded.preprocessing(preprocess, spec.commandLine().getErr());
        if (base.getConfiguration().getVertices().get(DenseNetBuilder.CLASSIFIER) == null) {
            throw new UserError(model + ": has no '" + DenseNetBuilder.CLASSIFIER + "' classifier to replace "
                    + "(a headless model?)");
        }
        String classifierInput = base.getConfiguration().getVertexInputs().get(DenseNetBuilder.CLASSIFIER).get(0);
        String frozen = freezeUntil != null ? freezeUntil : classifierInput;
        Map<String, GraphVertex> vertices = base.getConfiguration().getVertices();
        if (!vertices.containsKey(frozen) || frozen.equals(DenseNetBuilder.CLASSIFIER)) {
            throw new UserError("--freeze-until '" + frozen + "': no such layer before fc6 in " + model
                    + " (e.g. pool2, concat_4_8, " + classifierInput + "; densenet summary lists them)");
        }
        ComputationGraph net = new TransferLearning.GraphBuilder(base)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder()
                        .updater(new Nesterovs(learningRate, 0.9)).seed(seed).build())
                .setFeatureExtractor(frozen)
                .nOutReplace(DenseNetBuilder.CLASSIFIER, classes.size(), WeightInit.XAVIER)
                .build();
        FastPath.install(net); // TransferLearning made new layers with DL4J's default helpers

        int c = loaded.channels();
        int[] hw = size != null ? Models.parseInput(size) : loaded.defaultSize();
        DataNormalization stored = loaded.normalizer();
        PrintWriter o = spec.commandLine().getOut();
        o.printf("Fine-tuning %s on %s: %d classes %s, %d images at %dx%dx%d; frozen up to %s; %s%n", model, images,
                classes.size(), classes, files.size(), hw[0], hw[1], c, frozen, Backend.describe());

        Random rnd = new Random(seed);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            order.add(i);
        }
        int iterations = (files.size() + batch - 1) / batch;
        BatchAccuracy accuracy = new BatchAccuracy();
        net.setListeners(accuracy);
        for (int epoch = 1; epoch <= epochs; epoch++) {
            Collections.shuffle(order, rnd);
            Progress progress = new Progress(o, "epoch " + epoch + "/" + epochs, iterations);
            double lossSum = 0;
            accuracy.reset();
            for (int it = 0; it < iterations; it++) {
                List<Integer> idx = order.subList(it * batch, Math.min(files.size(), (it + 1) * batch));
                INDArray x = loaded.normalise(Images.load(idx.stream().map(files::get).toList(), hw[0], hw[1], c), mode);
                INDArray y = Nd4j.zeros(DataType.FLOAT, idx.size(), classes.size());
                for (int i = 0; i < idx.size(); i++) {
                    y.putScalar(i, labels.get(idx.get(i)), 1f);
                }
                accuracy.labels(y);
                net.fit(new DataSet(x, y));
                lossSum += net.score() * idx.size();
                int seen = Math.min(files.size(), (it + 1) * batch);
                progress.update(it + 1, String.format(Locale.ROOT, "loss %.4f  acc %.4f", lossSum / seen,
                        accuracy.value()));
            }
            progress.done(String.format(Locale.ROOT, "loss %.4f  acc %.4f", lossSum / files.size(),
                    accuracy.value()));
        }
        net.setListeners();
        ModelFiles.write(net, out, force, stored, Map.of("labels", classes, "model", "finetuned " + model), false,
                new ModelCard(stored != null ? ModelCard.STORED : mode.name().toLowerCase(java.util.Locale.ROOT), hw[0],
                        hw[1], c, classes, Map.of("finetunedFrom", model)));
        o.printf("Wrote %s (%d classes, labels stored with it)%n", out, classes.size());
        return 0;
    }
}
