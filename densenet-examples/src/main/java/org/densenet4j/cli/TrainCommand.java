package org.densenet4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.Architecture;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.examples.ImageFolder;
import org.densenet4j.examples.TrainingCurves;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.Epoch;
import org.densenet4j.training.Trainer;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet train}: trains a preset on Fashion-MNIST and writes the model, its curves and a plot. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a DenseNet on Fashion-MNIST (28x28 grayscale, 10 classes) or on a folder of class "
                + "subfolders with SGD + Nesterov momentum "
                + "and a one-cycle learning rate, random flips and 2-pixel shifts; evaluate on the test set after "
                + "each epoch; write the model zip (labels and input scaling stored with it), a CSV of the curves "
                + "and a PNG plot. Files are written only when complete."})
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--dataset", defaultValue = "fashion-mnist",
            description = "fashion-mnist (default), or a folder with one subfolder of images per class.")
    String dataset;

    @Option(names = "--input", description = "Images are resized to HxWxC (default: 28x28x1 for Fashion-MNIST, "
            + "32x32x3 for a folder).")
    String input;

    @Option(names = "--test-split", defaultValue = "0.2",
            description = "For a folder: the fraction of each class's images held out as the test set "
                    + "(default: ${DEFAULT-VALUE}).")
    double testSplit;

    @Mixin
    TrainingOptions run;

    @Mixin
    EngineOption engine;

    @Mixin
    MemoryOption memory;

    @Override
    public Integer call() throws Exception {
        boolean fashion = dataset.equals("fashion-mnist");
        if (!fashion && !Files.isDirectory(Path.of(dataset))) {
            throw new UserError("--dataset '" + dataset + "': neither fashion-mnist nor a folder of class subfolders");
        }
        if (testSplit <= 0 || testSplit >= 1) {
            throw new UserError("--test-split must be between 0 and 1, was " + testSplit);
        }
        run.check();
        run.output.refuseToOverwrite("-curves.csv", "-curves.png");
        Path csv = run.output.sibling("-curves.csv");
        Path png = run.output.sibling("-curves.png");
        int[] hwc = input != null ? Models.parseInput(input) : fashion ? new int[] {28, 28, 1} : new int[] {32, 32, 3};
        DataSet train;
        DataSet test;
        List<String> labels;
        String dataName;
        if (fashion) {
            train = FashionMnist.load(run.dataDir, true, run.limit);
            test = FashionMnist.load(run.dataDir, false, run.testLimit);
            if (hwc[0] != 28 || hwc[1] != 28 || hwc[2] != 1) {
                throw new UserError("--input " + input + ": Fashion-MNIST images are 28x28x1");
            }
            labels = FashionMnist.LABELS;
            dataName = "Fashion-MNIST";
        } else {
            ImageFolder folder = ImageFolder.scan(Path.of(dataset));
            List<List<Integer>> parts = folder.split(testSplit, run.seed);
            if (parts.get(1).isEmpty()) {
                throw new UserError(dataset + ": too few images to hold out a test set (" + folder.files().size()
                        + " images in " + folder.classes().size() + " classes)");
            }
            List<Integer> trainPart = run.limit > 0 ? parts.get(0).subList(0, Math.min(run.limit,
                    parts.get(0).size())) : parts.get(0);
            List<Integer> testPart = run.testLimit > 0 ? parts.get(1).subList(0, Math.min(run.testLimit,
                    parts.get(1).size())) : parts.get(1);
            train = folder.load(trainPart, hwc[0], hwc[1], hwc[2]);
            test = folder.load(testPart, hwc[0], hwc[1], hwc[2]);
            labels = folder.classes();
            dataName = dataset;
        }
        ImagePreProcessingScaler scaler = new ImagePreProcessingScaler(0, 1);
        scaler.transform(train.getFeatures());
        scaler.transform(test.getFeatures());

        int n = train.numExamples();
        int iterationsPerEpoch = Trainer.batchesPerEpoch(n, run.batch);
        Architecture architecture = Models.architecture(run.model);
        String name = architecture.name();
        DenseNetConfig config = architecture.config()
                .inputShape(hwc[0], hwc[1], hwc[2]).numClasses(labels.size()).seed(run.seed)
                .updater(run.updater(run.epochs * iterationsPerEpoch))
                .build();
        String settings = String.join("|", config.toString(), "epochs=" + run.epochs, "batch=" + run.batch, "n=" + n,
                "augment=" + !run.noAugment) + (fashion ? "" : "|data=" + dataName);
        Checkpoint saved = new Checkpoint(run.output.checkpoint(), settings);
        TrainingCurves curves = new TrainingCurves();
        Random rnd = new Random(run.seed);
        ComputationGraph net;
        int done = 0;
        List<Epoch> before = List.of();
        Optional<Checkpoint.Resumed> resumed = run.output.resumed(saved);
        if (resumed.isPresent()) {
            Checkpoint.Resumed r = resumed.get();
            net = r.net();
            done = r.epochsDone();
            rnd = r.random();
            before = r.epochs();
            before.forEach(curves::add);
        } else {
            net = new DenseNetZooModel(name, config).init();
        }
        TrainingStep step = TrainingStep.of(net, engine.compiled(), memory.memoryEfficient);

        PrintWriter o = spec.commandLine().getOut();
        o.printf("Training %s (%,d parameters) on %s: %,d training, %,d test images, %d epochs of %d "
                + "batches of %d%s; %s, %s%n", name, net.numParams(), dataName, n, test.numExamples(), run.epochs,
                iterationsPerEpoch, run.batch, done > 0 ? ", resuming after epoch " + done : "", Backend.describe(),
                step.describe());
        long[] shape = train.getFeatures().shape();
        Models.prepare(name, step, Math.min(run.batch, n), shape[1], shape[2], shape[3]);
        Trainer.Listener progress = new Trainer.Listener() {
            private Progress bar;

            @Override
            public void batch(int epoch, int batchesDone, int batches, double loss, double accuracy, double perSecond) {
                if (batchesDone == 1) {
                    bar = new Progress(o, "epoch " + epoch + "/" + run.epochs, batches);
                }
                bar.update(batchesDone, String.format(Locale.ROOT, "loss %.4f  acc %.4f  %.0f img/s", loss, accuracy,
                        perSecond));
            }

            @Override
            public void epoch(Epoch e) {
                curves.add(e);
                bar.done(String.format(Locale.ROOT, "loss %.4f  acc %.4f  test loss %.4f  test acc %.4f  %.0f s",
                        e.trainLoss(), e.trainAccuracy(), e.testLoss(), e.testAccuracy(), e.seconds()));
            }
        };
        new Trainer(step, new Trainer.Options(run.epochs, run.batch, !run.noAugment))
                .run(train, test, done + 1, rnd, progress, saved, before);
        step.finish();
        ModelFiles.write(net, run.output.out, run.output.force, scaler, Map.of("labels", labels, "model", name),
                false,
                new ModelCard(scaler != null ? ModelCard.STORED : "none", config.inputHeight(), config.inputWidth(),
                        config.inputChannels(), labels, Map.of("trainedOn", fashion ? dataName : dataset, "model",
                        name)).withArchitecture(config.toJson()));
        curves.writeCsv(csv);
        curves.writePng(png, name + " on " + (fashion ? dataName : Path.of(dataset).getFileName()));
        saved.delete();
        o.printf("Wrote %s, %s, %s%n", run.output.out, csv, png);
        return 0;
    }
}
