import java.lang.reflect.Constructor;
import java.util.Arrays;
import java.util.Locale;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One batch-normalisation training pass, forward and backward, by itself: DenseNet4J's
 * {@code FastBatchNormHelper} (or, with {@code --dl4j}, DL4J's oneDNN helper) on DenseNet's tensor
 * shapes, median of the repetitions. Run it against two builds of densenet-zoo to compare them.
 *
 * <pre>
 * java -cp "$jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" tools/bench/BatchNormPasses.java [--dl4j]
 * </pre>
 */
public final class BatchNormPasses {

    private static final long[][] SHAPES = {{8, 256, 56, 56}, {8, 128, 28, 28}, {64, 120, 14, 14}, {64, 48, 28, 28}};

    public static void main(String[] args) throws Exception {
        boolean dl4j = Arrays.asList(args).contains("--dl4j");
        int reps = 15;
        System.out.println(dl4j ? "DL4J's oneDNN helper" : "FastBatchNormHelper");
        for (long[] shape : SHAPES) {
            INDArray x = Nd4j.randn(DataType.FLOAT, shape);
            INDArray g = Nd4j.randn(DataType.FLOAT, shape);
            int c = (int) shape[1];
            INDArray gamma = Nd4j.rand(DataType.FLOAT, 1, c).addi(0.5);
            INDArray beta = Nd4j.randn(DataType.FLOAT, 1, c);
            INDArray dGamma = Nd4j.zeros(DataType.FLOAT, 1, c);
            INDArray dBeta = Nd4j.zeros(DataType.FLOAT, 1, c);
            BatchNormalizationHelper helper = dl4j ? new MKLDNNBatchNormHelper(DataType.FLOAT) : fast();
            LayerWorkspaceMgr none = LayerWorkspaceMgr.noWorkspaces();
            double[] forward = new double[reps];
            double[] backward = new double[reps];
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                helper.preOutput(x, true, shape, gamma, beta, null, null, 0.9, 1e-5, CNN2DFormat.NCHW, none);
                long t1 = System.nanoTime();
                helper.backpropGradient(x, g, shape, gamma, beta, dGamma, dBeta, 1e-5, CNN2DFormat.NCHW, none);
                long t2 = System.nanoTime();
                forward[i] = (t1 - t0) / 1e6;
                backward[i] = (t2 - t1) / 1e6;
            }
            System.out.printf(Locale.ROOT, "%-18s forward %7.2f ms   backward %7.2f ms%n", Arrays.toString(shape),
                    median(forward), median(backward));
        }
    }

    /** FastBatchNormHelper around DL4J's helper (its constructor is the zoo's own, hence reflection). */
    private static BatchNormalizationHelper fast() throws ReflectiveOperationException {
        Constructor<?> make = Class.forName("org.densenet4j.dl4j.FastBatchNormHelper")
                .getDeclaredConstructor(MKLDNNBatchNormHelper.class);
        make.setAccessible(true);
        return (BatchNormalizationHelper) make.newInstance(new MKLDNNBatchNormHelper(DataType.FLOAT));
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }
}
