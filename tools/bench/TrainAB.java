import java.util.Arrays;
import java.util.Locale;

import org.deeplearning4j.nn.conf.CacheMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.convolution.ConvolutionLayer;
import org.densenet4j.dl4j.FastBatchNormHelper;
import org.densenet4j.dl4j.FastPath;
import org.densenet4j.zoo.DenseNetConfig;
import org.densenet4j.zoo.DenseNetPreset;
import org.densenet4j.zoo.DenseNetZooModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;

/**
 * Training steps of two variants of one graph, interleaved step by step in one JVM, so that the
 * drift of a shared machine falls on both alike: A is the graph as the zoo builds it, B the same
 * graph with one part of {@link FastPath} undone: {@code --undo conv-cache} (DL4J's default cache
 * mode, under which each convolution is computed again in the backward pass), {@code fast-relu}
 * (DL4J's ActivationLayer), {@code fast-batchnorm} (DL4J's oneDNN batch-norm helper),
 * {@code onednn-conv} (DL4J's oneDNN convolution helper) or {@code fast-merge} (DL4J's MergeVertex). {@code --mode infer} times
 * {@code output()} instead of training steps.
 *
 * <pre>
 * java -cp "$jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" tools/bench/TrainAB.java \
 *     --model densenet121 --batch 8 --rounds 8 --undo conv-cache
 * </pre>
 */
public final class TrainAB {

    public static void main(String[] args) {
        String model = option(args, "--model", "densenet-fmnist");
        int batch = Integer.parseInt(option(args, "--batch", "64"));
        int warmup = Integer.parseInt(option(args, "--warmup", "2"));
        int rounds = Integer.parseInt(option(args, "--rounds", "8"));
        String undo = option(args, "--undo", "conv-cache");
        boolean infer = option(args, "--mode", "train").equals("infer");

        DenseNetConfig config = DenseNetPreset.fromId(model).config().toBuilder()
                .updater(new Nesterovs(0.01, 0.9)).build();
        ComputationGraph a = new DenseNetZooModel(model, config).init();
        ComputationGraph b = a.clone(); // a clone has none of the fast path: B gets it below, less one part
        b.setCacheMode(a.getConfiguration().getCacheMode());
        switch (undo) {
            case "conv-cache" -> {
                b.getConfiguration().setCacheMode(CacheMode.NONE);
                b.setCacheMode(CacheMode.NONE);
                withPropertyFalse("densenet4j.convCache", () -> FastPath.install(b));
            }
            case "fast-relu" -> withPropertyFalse("densenet4j.fastRelu", () -> FastPath.install(b));
            case "fast-batchnorm" -> withPropertyFalse("densenet4j.fastBatchNorm", () -> FastPath.install(b));
            case "onednn-conv" -> withPropertyFalse("densenet4j.oneDnnConv", () -> FastPath.install(b));
            case "fast-merge" -> withPropertyFalse("densenet4j.fastMerge", () -> FastPath.install(b));
            default -> throw new IllegalArgumentException(
                    "--undo: conv-cache, fast-relu, fast-batchnorm, onednn-conv or fast-merge, not " + undo);
        }
        System.out.println("A: " + describe(a));
        System.out.println("B: " + describe(b));
        Nd4j.getRandom().setSeed(1);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, config.inputChannels(), config.inputHeight(), config.inputWidth());
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, config.numClasses());
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % config.numClasses(), 1.0);
        }
        DataSet data = new DataSet(x, y);
        for (int i = 0; i < warmup; i++) {
            step(a, data, infer);
            step(b, data, infer);
        }
        double[] ta = new double[rounds];
        double[] tb = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            boolean aFirst = i % 2 == 0; // alternate the order too
            if (aFirst) {
                ta[i] = step(a, data, infer);
                tb[i] = step(b, data, infer);
            } else {
                tb[i] = step(b, data, infer);
                ta[i] = step(a, data, infer);
            }
        }
        System.out.printf(Locale.ROOT, "%s %s batch %d, %d rounds: A (zoo) median %.0f ms, min %.0f | B (undo %s) median %.0f ms,"
                + " min %.0f | A/B %.3f (medians), %.3f (mins)%n", model, infer ? "infer" : "train", batch, rounds, median(ta), min(ta), undo,
                median(tb), min(tb), median(ta) / median(tb), min(ta) / min(tb));
    }

    static void withPropertyFalse(String property, Runnable action) {
        System.setProperty(property, "false");
        try {
            action.run();
        } finally {
            System.clearProperty(property);
        }
    }

    /** What of the fast path a graph runs, so that each arm is seen to be what it claims. */
    static String describe(ComputationGraph net) {
        long fastRelu = Arrays.stream(net.getLayers())
                .filter(l -> l.getClass().getSimpleName().equals("FastReluLayer")).count();
        long oneDnnConv = Arrays.stream(net.getLayers()).filter(l -> l instanceof ConvolutionLayer c && c.getHelper() != null
                && c.getHelper().getClass().getSimpleName().equals("OneDnnConvHelper")).count();
        return "cache mode " + net.getConfiguration().getCacheMode() + ", OneDnnConvHelper x" + oneDnnConv
                + ", FastMergeVertex x" + Arrays.stream(net.getVertices())
                        .filter(v -> v.getClass().getSimpleName().equals("FastMergeVertex")).count()
                + ", FastBatchNormHelper "
                + FastBatchNormHelper.installed(net) + ", FastReluLayer x" + fastRelu;
    }

    static double step(ComputationGraph net, DataSet data, boolean infer) {
        long t = System.nanoTime();
        if (infer) {
            net.outputSingle(data.getFeatures());
        } else {
            net.fit(data);
        }
        return (System.nanoTime() - t) / 1e6;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static double min(double[] values) {
        return Arrays.stream(values).min().orElse(Double.NaN);
    }

    static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
