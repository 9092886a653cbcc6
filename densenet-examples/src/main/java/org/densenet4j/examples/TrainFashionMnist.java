package org.densenet4j.examples;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.densenet4j.training.Epoch;
import org.densenet4j.training.OneCycle;
import org.densenet4j.training.Trainer;
import org.densenet4j.training.TrainingStep;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;
import org.nd4j.linalg.learning.config.Nesterovs;

/**
 * Example: train a DenseNet-BC on Fashion-MNIST with the compiled trainer (Nesterov momentum, a
 * one-cycle learning rate, random flips and shifts), evaluate it after each epoch and save it with
 * its labels and input scaling. Reads Debian's {@code dataset-fashion-mnist}.
 *
 * <pre>
 * ./densenet example TrainFashionMnist 60000 8 fashion.zip    # all images, 8 epochs (93-94%)
 * ./densenet example TrainFashionMnist 3000 1 small.zip
 * </pre>
 */
public final class TrainFashionMnist {

    private TrainFashionMnist() {
    }

    public static void main(String[] args) throws IOException {
        int limit = args.length > 0 ? Integer.parseInt(args[0]) : 6000;
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        Path out = Path.of(args.length > 2 ? args[2] : "fashion-densenet.zip");
        for (Epoch e : train(Path.of(FashionMnist.DEBIAN_DIR), limit, 5000, epochs, out)) {
            System.out.printf("epoch %d: train loss %.4f, test accuracy %.4f, %.0f images/s%n", e.epoch(),
                    e.trainLoss(),
                    e.testAccuracy(), e.imagesPerSecond());
        }
        System.out.println("wrote " + out);
    }

    /**
     * Trains on the first {@code limit} training images, tests on the first {@code testLimit} test images, writes
     * {@code out}.
     */
    public static List<Epoch> train(Path data, int limit, int testLimit, int epochs, Path out) throws IOException {
        DataSet train = FashionMnist.load(data, true, limit);
        DataSet test = FashionMnist.load(data, false, testLimit);
        ImagePreProcessingScaler scaler = new ImagePreProcessingScaler(0, 1);   // 0-255 to 0-1, stored with the model
        scaler.transform(train.getFeatures());
        scaler.transform(test.getFeatures());

        int batch = 64;
        int steps = epochs * Trainer.batchesPerEpoch(train.numExamples(), batch);
        DenseNetConfig config = DenseNetPreset.FASHION_MNIST.config().toBuilder().seed(42)
                .updater(new Nesterovs(OneCycle.schedule(0.1, steps), 0.9)).build();
        ComputationGraph net = new DenseNetZooModel("densenet-fmnist", config).init();
        TrainingStep step = TrainingStep.of(net, true);                           // compiled steps where they run
        List<Epoch> epochsDone = new Trainer(step, new Trainer.Options(epochs, batch, true))
                .run(train, test, new Random(42));
        step.finish();
        ModelFiles.write(net, out, true, scaler, Map.of("labels", FashionMnist.LABELS), false,
                new ModelCard(ModelCard.STORED, 28, 28, 1, FashionMnist.LABELS, Map.of("trainedOn", "Fashion-MNIST"))
                        .withArchitecture(config.toJson()));
        return epochsDone;
    }
}
