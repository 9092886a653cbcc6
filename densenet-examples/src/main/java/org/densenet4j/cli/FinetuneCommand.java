package org.densenet4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.densenet4j.examples.ImageModel;
import org.densenet4j.dl4j.FastPath;
import org.densenet4j.examples.ImageFolder;
import org.densenet4j.preprocess.ImageNetPreprocessor;
import org.densenet4j.engine.CompiledGraph;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.ClassifierHead;
import org.densenet4j.training.Epoch;
import org.densenet4j.training.OneCycle;
import org.densenet4j.training.Trainer;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetBuilder;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.learning.config.Nesterovs;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code densenet finetune}: DL4J's TransferLearning on a folder of images with one subfolder per
 * class. {@code fc6} is replaced by a classifier of the folder's classes; the layers up to
 * {@code --freeze-until} are frozen.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description =
                {"Fine-tune a DenseNet on a folder of images with one subfolder per class (DL4J TransferLearning): "
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

    @Option(names = "--lr", defaultValue = "0.05",
            description = "Peak learning rate of the one-cycle schedule (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--validation", defaultValue = "0.2",
            description = "Fraction of each class's images held out to validate on after each epoch; 0 trains on "
                    + "every image (default: ${DEFAULT-VALUE}).")
    double validation;

    @Option(names = "--through-network", description = "Run every image through the frozen layers every epoch "
            + "(what deeper --freeze-until settings need) even when only fc6 trains; for comparison.")
    boolean throughNetwork;

    @Option(names = "--size",
            description = "Images are resized to HxW (default: the preset's input; for a model zip 224x224, or 28x28 "
                    + "for a grayscale model).")
    String size;

    @Option(names = "--preprocess", description = "caffe, torch or none, for colour models without a stored scaling "
            + "(default: what the model records).")
    String preprocess;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    RunOutputs output;

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || batch < 1) {
            throw new UserError("--epochs and --batch must be >= 1");
        }
        if (!(validation >= 0 && validation < 1)) {
            throw new UserError("--validation must be at least 0 and below 1, was " + validation);
        }
        output.refuseToOverwrite();
        if (preprocess != null) {
            ImageNetPreprocessor.Mode.fromId(preprocess); // a typo fails before the model loads
        }
        ImageFolder folder = ImageFolder.scan(images);
        List<String> classes = folder.classes();
        List<Path> files = folder.files();

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
        List<List<Integer>> split = folder.split(validation, seed);
        List<Integer> trainPart = split.get(0);
        List<Integer> valPart = split.get(1);
        int steps = epochs * Trainer.batchesPerEpoch(trainPart.size(), batch);
        Nesterovs updater = new Nesterovs(OneCycle.schedule(learningRate, steps), 0.9);
        ComputationGraph net = new TransferLearning.GraphBuilder(base)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(updater).seed(seed).build())
                .setFeatureExtractor(frozen)
                .nOutReplace(DenseNetBuilder.CLASSIFIER, classes.size(), WeightInit.XAVIER)
                .build();
        FastPath.install(net); // TransferLearning made new layers with DL4J's default helpers
        int c = loaded.channels();
        int[] hw = size != null ? Models.parseInput(size) : loaded.defaultSize();
        DataNormalization stored = loaded.normalizer();
        boolean cached = frozen.equals(classifierInput) && !throughNetwork;
        PrintWriter o = spec.commandLine().getOut();
        o.printf("Fine-tuning %s on %s: %d classes %s, %d images (%d held out) at %dx%dx%d; frozen up to %s; %s; %s%n",
                model, images, classes.size(), classes, files.size(), valPart.size(), hw[0], hw[1], c, frozen,
                cached ? "fc6 trained on the backbone's features, computed once"
                : "every image through the network every epoch",
                Backend.describe());
        UnaryOperator<INDArray> backbone = cached ? CompiledGraph.inference(base, classifierInput) : x -> x;
        DataSet train = examples(folder, trainPart, hw, c, loaded, mode, backbone);
        DataSet val = valPart.isEmpty() ? null : examples(folder, valPart, hw, c, loaded, mode, backbone);
        ComputationGraph trained = cached ? ClassifierHead.of(net, DenseNetBuilder.CLASSIFIER, updater) : net;
        String settings = String.join("|", "model=" + model, "frozen=" + frozen, "cached=" + cached, "epochs=" + epochs,
                "batch=" + batch, "lr=" + learningRate, "validation=" + validation, "seed=" + seed,
                "n=" + files.size());
        Checkpoint checkpoint = new Checkpoint(output.checkpoint(), settings);
        Random rnd = new Random(seed);
        int done = 0;
        List<Epoch> before = List.of();
        Optional<Checkpoint.Resumed> resumed = output.resumed(checkpoint);
        if (resumed.isPresent()) {
            Checkpoint.Resumed r = resumed.get();
            trained = r.net();
            rnd = r.random();
            done = r.epochsDone();
            before = r.epochs();
            o.printf("resuming after epoch %d%n", done);
        }
        Trainer.Listener listener = new Trainer.Listener() {
            @Override
            public void epoch(Epoch e) {
                String validated = val == null ? "" : String.format(Locale.ROOT,
                        "  validation loss %.4f  validation acc %.4f",
                        e.testLoss(), e.testAccuracy());
                o.printf(Locale.ROOT, "epoch %d/%d: loss %.4f  acc %.4f%s  %.1f s%n",
                        e.epoch(), epochs, e.trainLoss(), e.trainAccuracy(), validated, e.seconds());
            }
        };
        new Trainer(TrainingStep.of(trained, true), new Trainer.Options(epochs, batch, false))
                .run(train, val, done + 1, rnd, listener, checkpoint, before);
        if (cached) {
            ClassifierHead.copyBack(trained, net, DenseNetBuilder.CLASSIFIER);
        } else {
            net = trained; // itself, or the graph a resumed run restored
        }
        ModelFiles.write(net, output.out, output.force, stored,
                Map.of("labels", classes, "model", "finetuned " + model), false,
                new ModelCard(stored != null ? ModelCard.STORED : mode.name().toLowerCase(java.util.Locale.ROOT), hw[0],
                        hw[1], c, classes, Map.of("finetunedFrom", model)));
        checkpoint.delete();
        o.printf("Wrote %s (%d classes, labels stored with it)%n", output.out, classes.size());
        return 0;
    }

    /**
     * The images {@code indices} of {@code folder}, decoded and normalised as the model wants them,
     * then through {@code backbone} (the frozen layers' features, or the images themselves), with
     * one-hot labels; 32 images at a time.
     */
    private static DataSet examples(ImageFolder folder, List<Integer> indices, int[] hw, int channels,
            ImageModel loaded,
                                    ImageNetPreprocessor.Mode mode,
                                    UnaryOperator<INDArray> backbone) throws java.io.IOException {
        List<DataSet> parts = new ArrayList<>();
        for (int from = 0; from < indices.size(); from += 32) {
            DataSet batch = folder.load(indices.subList(from, Math.min(indices.size(), from + 32)), hw[0], hw[1],
                    channels);
            parts.add(new DataSet(backbone.apply(loaded.normalise(batch.getFeatures(), mode)), batch.getLabels()));
        }
        return DataSet.merge(parts);
    }
}
