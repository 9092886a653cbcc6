package org.densenet4j.spark.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.densenet4j.cli.TrainingOptions;
import org.densenet4j.examples.Architecture;
import org.densenet4j.examples.FashionMnist;
import org.densenet4j.spark.training.CompiledTrainingMaster;
import org.densenet4j.training.Augmentation;
import org.densenet4j.training.Checkpoint;
import org.densenet4j.training.Epoch;
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

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

    @Mixin
    TrainingOptions run;

    @Option(names = "--master", description = "Spark master, e.g. local[2] (default: spark-submit's, else local[*]).")
    String master;

    @Option(names = "--workers", defaultValue = "0",
            description = "Data-parallel workers (default: Spark's default parallelism, e.g. 2 for local[2]).")
    int workers;

    @Option(names = "--averaging", defaultValue = "5",
            description = "Minibatches each worker fits between parameter averagings (default: ${DEFAULT-VALUE}).")
    int averaging;

    @Override
    public Integer call() throws Exception {
        run.check();
        if (averaging < 1 || workers < 0) {
            throw new IllegalArgumentException("--averaging must be >= 1 and --workers >= 0");
        }
        run.output.refuseToOverwrite();
        DataSet train = FashionMnist.load(run.dataDir, true, run.limit);
        DataSet test = FashionMnist.load(run.dataDir, false, run.testLimit);
        ImagePreProcessingScaler scaler = new ImagePreProcessingScaler(0, 1);
        scaler.transform(train.getFeatures());
        scaler.transform(test.getFeatures());

        SparkSession spark = SparkCli.session("densenet spark-train", master);
        try {
            JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            int n = train.numExamples();
            int parallel = workers > 0 ? workers : sc.defaultParallelism();
            // --batch is the batch of an averaged step, as train's is of a step: each worker fits its share,
            // so that an epoch has as many (averaged) steps as train's, and the schedule counts them.
            int perWorker = Math.max(1, run.batch / parallel);
            int stepsPerEpoch = (Trainer.batchesPerEpoch(n, perWorker) + parallel - 1) / parallel;
            Architecture architecture = Architecture.of(run.model);
            DenseNetConfig config = architecture.config().inputShape(28, 28, 1).numClasses(FashionMnist.LABELS.size())
                    .seed(run.seed).updater(run.updater(run.epochs * stepsPerEpoch))
                    .build();
            String settings = String.join("|", config.toString(), "epochs=" + run.epochs, "batch=" + run.batch,
                    "n=" + n,
                    "augment=" + !run.noAugment, "workers=" + parallel, "averaging=" + averaging);
            Checkpoint checkpoint = new Checkpoint(run.output.checkpoint(), settings);
            Random rnd = new Random(run.seed);
            List<Epoch> done = new ArrayList<>();
            ComputationGraph net;
            Optional<Checkpoint.Resumed> resumed = run.output.resumed(checkpoint);
            if (resumed.isPresent()) {
                Checkpoint.Resumed r = resumed.get();
                net = r.net();
                rnd = r.random();
                done.addAll(r.epochs());
            } else {
                net = new DenseNetZooModel(architecture.name(), config).init();
            }
            var o = spec.commandLine().getOut();
            o.printf("Training %s (%,d parameters) on Fashion-MNIST with Spark (%s, %d workers, averaging every %d "
                    + "minibatches of %d each): %,d training, %,d test images, %d epochs of %d batches of %d%s%n",
                    architecture.name(), net.numParams(), sc.master(), parallel, averaging, perWorker, n,
                    test.numExamples(),
                    run.epochs, Trainer.batchesPerEpoch(n, run.batch), run.batch,
                    done.isEmpty() ? "" : ", resuming after epoch " + done.size());
            SparkComputationGraph sparkNet = new SparkComputationGraph(sc, net,
                    new CompiledTrainingMaster(parallel, perWorker, averaging, run.seed));
            for (int epoch = done.size() + 1; epoch <= run.epochs; epoch++) {
                long start = System.nanoTime();
                sparkNet.fit(sc.parallelize(batches(train, perWorker, rnd), parallel));
                double seconds = (System.nanoTime() - start) / 1e9;
                net = sparkNet.getNetwork();
                Evaluation eval = new Evaluation(FashionMnist.LABELS.size());
                double testLoss = Trainer.evaluate(net, test, eval);
                Epoch e = new Epoch(epoch, Double.NaN, Double.NaN, testLoss, eval.accuracy(), seconds, n / seconds);
                done.add(e);
                o.printf(Locale.ROOT, "epoch %d/%d: test loss %.4f  test acc %.4f  %.0f s (%.0f img/s)%n", epoch,
                        run.epochs,
                        testLoss, eval.accuracy(), seconds, n / seconds);
                if (epoch < run.epochs) {
                    checkpoint.save(net, epoch, rnd, done);
                }
            }
            List<String> labels = FashionMnist.LABELS;
            ModelFiles.write(net, run.output.out, run.output.force, scaler,
                    Map.of("labels", labels, "model", architecture.name()), false,
                    new ModelCard(ModelCard.STORED, 28, 28, 1, labels,
                            Map.of("trainedOn", "Fashion-MNIST", "model", architecture.name(), "trainer",
                            "spark-train")).withArchitecture(config.toJson()));
            checkpoint.delete();
            o.printf("Wrote %s%n", run.output.out);
            return 0;
        } finally {
            spark.stop();
        }
    }

    /** One epoch's minibatches: the examples shuffled, augmented when asked, in batches of {@code batch}. */
    private List<DataSet> batches(DataSet train, int batch, Random rnd) {
        int n = train.numExamples();
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            order.add(i);
        }
        java.util.Collections.shuffle(order, rnd);
        List<DataSet> batches = new ArrayList<>();
        for (int from = 0; from < n; from += batch) {
            long[] idx = order.subList(from, Math.min(n,
                    from + batch)).stream().mapToLong(Integer::longValue).toArray();
            INDArray x = train.getFeatures().get(NDArrayIndex.indices(idx)).dup();
            INDArray y = train.getLabels().get(NDArrayIndex.indices(idx)).dup();
            if (!run.noAugment) {
                Augmentation.flipAndShift(x, 2, rnd);
            }
            batches.add(new DataSet(x, y));
        }
        return batches;
    }
}
