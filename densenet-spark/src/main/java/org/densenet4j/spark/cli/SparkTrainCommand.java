package org.densenet4j.spark.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.densenet4j.examples.Architecture;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.spark.training.CompiledTrainingMaster;
import org.densenet4j.training.Augmentation;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.Epoch;
import org.densenet4j.training.OneCycle;
import org.densenet4j.training.Trainer;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetZooModel;
import org.densenet4j.zoo.io.ModelCard;
import org.densenet4j.zoo.io.ModelFiles;
import org.nd4j.evaluation.classification.Evaluation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.ImagePreProcessingScaler;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Nesterovs;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code densenet spark-train}: {@code train} on Fashion-MNIST, data-parallel on Spark. */
@Command(name = "spark-train", mixinStandardHelpOptions = true,
        description = {"Train a DenseNet on Fashion-MNIST as 'densenet train' does (SGD + Nesterov momentum, one-cycle "
                + "learning rate, random flips and shifts, the test accuracy after each epoch, the same model zip), "
                + "data-parallel on Spark: DL4J's parameter averaging (each worker fits --averaging minibatches, then "
                + "the parameters and updater state are averaged), each worker's steps on the compiled trainer. "
                + "A checkpoint is written after every epoch (--resume continues from it)."})
final class SparkTrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--master", description = "Spark master, e.g. local[2] (default: spark-submit's, else local[*]).")
    String master;

    @Option(names = "--data-dir", defaultValue = FashionMnist.DEBIAN_DIR,
            description = "Folder of the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--model", defaultValue = "densenet-bc100-k12",
            description = "Preset id, or a JSON file of DenseNet settings (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--epochs", defaultValue = "1", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "64", description = "Batch size of each worker's steps (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", defaultValue = "0.2", description = "Peak learning rate of the one-cycle schedule (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--workers", defaultValue = "0",
            description = "Data-parallel workers (default: Spark's default parallelism, e.g. 2 for local[2]).")
    int workers;

    @Option(names = "--averaging", defaultValue = "5",
            description = "Minibatches each worker fits between parameter averagings (default: ${DEFAULT-VALUE}).")
    int averaging;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--limit", defaultValue = "0", description = "Use only the first N training images (0: all).")
    int limit;

    @Option(names = "--test-limit", defaultValue = "0", description = "Use only the first N test images (0: all).")
    int testLimit;

    @Option(names = "--no-augment", description = "Train without random flips and shifts.")
    boolean noAugment;

    @Option(names = "--out", required = true, description = "The model zip to write.")
    Path out;

    @Option(names = "--force", description = "Replace an existing model zip (and an earlier run's checkpoint).")
    boolean force;

    @Option(names = "--resume", description = "Continue the run whose checkpoint (<out>-checkpoint.zip) is there.")
    boolean resume;

    @Override
    public Integer call() throws Exception {
        if (epochs < 1 || batch < 1 || averaging < 1 || workers < 0) {
            throw new IllegalArgumentException("--epochs, --batch and --averaging must be >= 1 and --workers >= 0");
        }
        Path checkpointFile = out.resolveSibling(out.getFileName().toString().replaceFirst("\\.zip$", "") + "-checkpoint.zip");
        if (Files.exists(out) && !force) {
            throw new IllegalArgumentException(out + ": exists; pass --force to replace it");
        }
        if (Files.exists(checkpointFile) && !resume && !force) {
            throw new IllegalArgumentException(checkpointFile + ": an earlier run stopped here; pass --resume to continue "
                    + "it or --force to start over");
        }
        DataSet train = FashionMnist.load(dataDir, true, limit);
        DataSet test = FashionMnist.load(dataDir, false, testLimit);
        ImagePreProcessingScaler scaler = new ImagePreProcessingScaler(0, 1);
        scaler.transform(train.getFeatures());
        scaler.transform(test.getFeatures());

        SparkSession spark = SparkCli.session("densenet spark-train", master);
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int n = train.numExamples();
            int parallel = workers > 0 ? workers : sc.defaultParallelism();
            // Each worker steps through its share of the batches: the schedule counts a worker's steps.
            int stepsPerEpoch = (Trainer.batchesPerEpoch(n, batch) + parallel - 1) / parallel;
            Architecture architecture = Architecture.of(model);
            DenseNetConfig config = architecture.config().inputShape(28, 28, 1).numClasses(FashionMnist.LABELS.size())
                    .seed(seed).updater(new Nesterovs(OneCycle.schedule(learningRate, epochs * stepsPerEpoch), 0.9))
                    .build();
            String settings = String.join("|", config.toString(), "epochs=" + epochs, "batch=" + batch, "n=" + n,
                    "augment=" + !noAugment, "workers=" + parallel, "averaging=" + averaging);
            Checkpoint checkpoint = new Checkpoint(checkpointFile, settings);
            Random rnd = new Random(seed);
            List<Epoch> done = new ArrayList<>();
            ComputationGraph net;
            if (resume && checkpoint.exists()) {
                Checkpoint.Resumed r = checkpoint.resume();
                net = r.net();
                rnd = r.random();
                done.addAll(r.epochs());
            } else {
                net = new DenseNetZooModel(architecture.name(), config).init();
            }
            var o = spec.commandLine().getOut();
            o.printf("Training %s (%,d parameters) on Fashion-MNIST with Spark (%s, %d workers, averaging every %d "
                    + "minibatches): %,d training, %,d test images, %d epochs of %d batches of %d%s%n",
                    architecture.name(), net.numParams(), sc.master(), parallel, averaging, n, test.numExamples(),
                    epochs, Trainer.batchesPerEpoch(n, batch), batch,
                    done.isEmpty() ? "" : ", resuming after epoch " + done.size());
            SparkComputationGraph sparkNet = new SparkComputationGraph(sc, net,
                    new CompiledTrainingMaster(parallel, batch, averaging));
            for (int epoch = done.size() + 1; epoch <= epochs; epoch++) {
                long start = System.nanoTime();
                sparkNet.fit(sc.parallelize(batches(train, rnd), parallel));
                double seconds = (System.nanoTime() - start) / 1e9;
                net = sparkNet.getNetwork();
                Evaluation eval = new Evaluation(FashionMnist.LABELS.size());
                double testLoss = Trainer.evaluate(net, test, eval);
                Epoch e = new Epoch(epoch, Double.NaN, Double.NaN, testLoss, eval.accuracy(), seconds, n / seconds);
                done.add(e);
                o.printf(Locale.ROOT, "epoch %d/%d: test loss %.4f  test acc %.4f  %.0f s (%.0f img/s)%n", epoch, epochs,
                        testLoss, eval.accuracy(), seconds, n / seconds);
                if (epoch < epochs) {
                    checkpoint.save(net, epoch, rnd, done);
                }
            }
            List<String> labels = FashionMnist.LABELS;
            ModelFiles.write(net, out, force, scaler, Map.of("labels", labels, "model", architecture.name()), false,
                    new ModelCard(ModelCard.STORED, 28, 28, 1, labels,
                            Map.of("trainedOn", "Fashion-MNIST", "model", architecture.name(), "trainer", "spark-train")));
            checkpoint.delete();
            o.printf("Wrote %s%n", out);
            return 0;
        } finally {
            spark.stop();
        }
    }

    /** One epoch's minibatches: the examples shuffled, augmented when asked, in batches. */
    private List<DataSet> batches(DataSet train, Random rnd) {
        int n = train.numExamples();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, rnd);
        List<DataSet> out = new ArrayList<>();
        for (int from = 0; from < n; from += batch) {
            long[] idx = order.subList(from, Math.min(n, from + batch)).stream().mapToLong(Integer::longValue).toArray();
            INDArray x = train.getFeatures().get(NDArrayIndex.indices(idx)).dup();
            INDArray y = train.getLabels().get(NDArrayIndex.indices(idx)).dup();
            if (!noAugment) {
                Augmentation.flipAndShift(x, 2, rnd);
            }
            out.add(new DataSet(x, y));
        }
        return out;
    }
}
