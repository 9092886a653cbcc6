package org.densenet4j.cli;

import java.nio.file.Path;

import org.densenet4j.examples.FashionMnist;
import org.densenet4j.training.OneCycle;
import org.nd4j.linalg.learning.config.Nesterovs;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options of a training run that {@code train} and {@code spark-train} share (a picocli mixin),
 * so that the two take the same settings the same way.
 */
public final class TrainingOptions {

    @Option(names = "--data-dir", defaultValue = FashionMnist.DEBIAN_DIR,
            description = "Folder of the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
    public Path dataDir;

    @Option(names = "--model", defaultValue = "densenet-bc100-k12",
            description = "Preset id, or a JSON file of DenseNet settings; set to the data's input shape and classes "
                    + "(default: ${DEFAULT-VALUE}).")
    public String model;

    @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default: ${DEFAULT-VALUE}).")
    public int epochs;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size (default: ${DEFAULT-VALUE}).")
    public int batch;

    @Option(names = "--lr", defaultValue = "0.2",
            description = "Peak learning rate of the one-cycle schedule (default: ${DEFAULT-VALUE}).")
    public double learningRate;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    public long seed;

    @Option(names = "--limit", defaultValue = "0", description = "Use only the first N training images (0: all).")
    public int limit;

    @Option(names = "--test-limit", defaultValue = "0", description = "Use only the first N test images (0: all).")
    public int testLimit;

    @Option(names = "--no-augment", description = "Train without random flips and shifts.")
    public boolean noAugment;

    /** The model zip, the files beside it and the checkpoint. */
    @Mixin
    public RunOutputs output;

    /** Fails with one line unless the epochs and the batch are at least 1. */
    public void check() {
        if (epochs < 1 || batch < 1) {
            throw new UserError("--epochs and --batch must be >= 1");
        }
    }

    /** SGD with Nesterov momentum 0.9 on the one-cycle schedule of {@code steps} steps peaking at {@code --lr}. */
    public Nesterovs updater(int steps) {
        return new Nesterovs(OneCycle.schedule(learningRate, steps), 0.9);
    }
}
