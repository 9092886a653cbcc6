package org.densenet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.examples.segmentation.FcDenseNetSpec;
import org.densenet4j.examples.segmentation.SegmentationEpoch;
import org.densenet4j.examples.segmentation.SegmentationMetrics;
import org.densenet4j.examples.segmentation.SegmentationSet;
import org.densenet4j.examples.segmentation.SegmentationTraining;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.fcn.FcDenseNetConfig;
import org.densenet4j.zoo.fcn.FcDenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet train-segmentation}: an FC-DenseNet trained on scenes of Fashion-MNIST items generated here. */
@Command(name = "train-segmentation", mixinStandardHelpOptions = true,
        description = {"Generate a segmentation set (Fashion-MNIST items, 1 to 3 a scene, pasted onto textured "
                + "backgrounds; a class per pixel: background or the item's class), train an FC-DenseNet on it "
                + "with RMSprop (the Tiramisu authors' settings), evaluate pixel accuracy and mean IoU on the test "
                + "scenes after each epoch beside the all-background baseline, and write the model zip and a CSV "
                + "of the epochs. Files are written only when complete."})
final class TrainSegmentationCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", defaultValue = FashionMnist.DEBIAN_DIR,
            description = "Folder of the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--train-images", defaultValue = "2000",
            description = "Training scenes, made from the Fashion-MNIST training images (default: ${DEFAULT-VALUE}).")
    int trainImages;

    @Option(names = "--test-images", defaultValue = "500",
            description = "Test scenes, made from the Fashion-MNIST test images (default: ${DEFAULT-VALUE}).")
    int testImages;

    @Option(names = "--size", defaultValue = "64",
            description = "Scene height and width; a multiple of 2^pools of the model (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--model", defaultValue = "fc-densenet56",
            description = "FC-DenseNet preset id (fc-densenet56, fc-densenet67, fc-densenet103) or a JSON file of "
                    + "its settings (initialFilters, growthRate, blockLayers, dropoutRate, bnEpsilon) "
                    + "(default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "16", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seed", defaultValue = "42",
            description = "Seed of the scenes, the weights and the shuffles (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    RunOutputs output;

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || batch < 1) {
            throw new UserError("--epochs and --batch must be >= 1");
        }
        if (trainImages < 1 || testImages < 1) {
            throw new UserError("--train-images and --test-images must be >= 1");
        }
        if (size < SegmentationSet.ITEM_SIZE) {
            throw new UserError("--size must be at least " + SegmentationSet.ITEM_SIZE + " (an item is "
                    + SegmentationSet.ITEM_SIZE + "x" + SegmentationSet.ITEM_SIZE + "), was " + size);
        }
        FcDenseNetSpec arch = architecture();
        int pools = arch.config().pools();
        if (size % (1 << pools) != 0) {
            throw new UserError("--size " + size + ": " + arch.name() + " halves its input " + pools
                    + " times, so the size must be a multiple of " + (1 << pools));
        }
        output.refuseToOverwrite("-curves.csv");
        Path csv = output.sibling("-curves.csv");
        if (!FashionMnist.hasTestSet(dataDir)) {
            throw new UserError(dataDir + ": no Fashion-MNIST files (t10k-images-idx3-ubyte[.gz] ...); install "
                    + "Debian's dataset-fashion-mnist or pass --data-dir");
        }
        PrintWriter o = spec.commandLine().getOut();
        long start = System.nanoTime();
        SegmentationSet train;
        SegmentationSet test;
        try {
            train = SegmentationSet.generate(FashionMnist.load(dataDir, true, 0), trainImages, size, seed);
            test = SegmentationSet.generate(FashionMnist.load(dataDir, false, 0), testImages, size, seed + 1);
        } catch (IOException e) {
            throw new UserError(e.getMessage());
        }
        ImagePreProcessingScaler scaler = new ImagePreProcessingScaler(0, 1); // the scenes are in [0, 1] already
        SegmentationMetrics baseline = SegmentationMetrics.constant(test, SegmentationSet.BACKGROUND);
        o.printf(Locale.ROOT, "Generated %,d training and %,d test scenes of %dx%d in %.1f s; test pixels: %.1f%% "
                + "background%n", trainImages, testImages, size, size, (System.nanoTime() - start) / 1e9,
                100 * baseline.count(0, 0) / (double) baseline.pixels());

        FcDenseNetConfig config = arch.config().toBuilder().inputShape(size, size, 1)
                .numClasses(SegmentationSet.classes()).seed(seed).build();
        String settings = String.join("|", config.toString(), "epochs=" + epochs, "batch=" + batch,
                "train=" + trainImages, "test=" + testImages, "seed=" + seed);
        Checkpoint saved = new Checkpoint(output.checkpoint(), settings);
        Random rnd = new Random(seed);
        ComputationGraph net;
        int done = 0;
        List<SegmentationEpoch> before = List.of();
        Optional<Checkpoint.Resumed> resumed = output.resumed(saved);
        if (resumed.isPresent()) {
            Checkpoint.Resumed r = resumed.get();
            net = r.net();
            done = r.epochsDone();
            rnd = r.random();
            before = SegmentationTraining.resumed(r);
        } else {
            net = new FcDenseNetZooModel(arch.name(), config).init();
        }
        TrainingStep step = TrainingStep.of(net, true);
        int batches = SegmentationTraining.batchesPerEpoch(trainImages, batch);
        o.printf(Locale.ROOT, "Training %s (%,d parameters) at %dx%d, %d epochs of %d batches of %d%s; %s, %s%n",
                arch.name(), net.numParams(), size, size, epochs, batches, batch,
                done > 0 ? ", resuming after epoch " + done : "", Backend.describe(), step.describe());
        o.printf(Locale.ROOT, "All-background baseline on the test scenes: pixel accuracy %.4f, mean IoU %.4f%n",
                baseline.pixelAccuracy(), baseline.meanIoU());
        List<SegmentationEpoch> all = new ArrayList<>(before);
        SegmentationTraining.Listener progress = new SegmentationTraining.Listener() {
            private Progress bar;

            @Override
            public void batch(int epoch, int batchesDone, int total, double loss, double accuracy, double perSecond) {
                if (batchesDone == 1) {
                    bar = new Progress(o, "epoch " + epoch + "/" + epochs, total);
                }
                bar.update(batchesDone, String.format(Locale.ROOT, "loss %.4f  pixel acc %.4f  %.1f img/s", loss,
                        accuracy, perSecond));
            }

            @Override
            public void epoch(SegmentationEpoch e) {
                all.add(e);
                bar.done(String.format(Locale.ROOT, "loss %.4f  test pixel acc %.4f  test mIoU %.4f  (baseline "
                        + "%.4f, %.4f)  %.0f s", e.trainLoss(), e.testPixelAccuracy(), e.testMeanIoU(),
                        baseline.pixelAccuracy(), baseline.meanIoU(), e.seconds()));
            }
        };
        new SegmentationTraining(step, epochs, batch).run(train, test, done + 1, rnd, progress, saved, before);
        step.finish();
        ModelFiles.write(net, output.out, output.force, scaler,
                Map.of("labels", SegmentationSet.LABELS, "model", arch.name()), false,
                new ModelCard(ModelCard.STORED, size, size, 1, SegmentationSet.LABELS, Map.of("trainedOn",
                        "Fashion-MNIST scenes, " + trainImages + " at " + size + "x" + size + ", seed " + seed,
                        "model", arch.name(), "task", "segmentation"))
                        .withArchitecture(config.toJson()));
        SegmentationTraining.writeCsv(csv, all, baseline);
        saved.delete();
        o.printf("Wrote %s, %s%n", output.out, csv);
        return 0;
    }

    private FcDenseNetSpec architecture() throws IOException {
        try {
            return FcDenseNetSpec.of(model);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        } catch (java.nio.file.NoSuchFileException e) {
            throw new UserError(model + ": no such file");
        }
    }
}
