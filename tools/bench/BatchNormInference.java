import java.lang.reflect.Constructor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.densenet4j.dl4j.NativeDefaults;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batch normalisation at inference on DenseNet-121's 117 batch-norm input shapes (the stem's, and
 * per dense layer the block input's and the bottleneck's), sum of per-shape medians: the zoo's
 * {@code FastBatchNormHelper} (one Java pass on the calling thread) or, with {@code --dl4j}, DL4J's
 * oneDNN helper (libnd4j). Outputs go to a workspace, as in the layers.
 *
 * <pre>
 * java -cp "$jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" tools/bench/BatchNormInference.java --batch 1 [--dl4j]
 * </pre>
 */
public final class BatchNormInference {

    public static void main(String[] args) throws Exception {
        NativeDefaults.apply();
        List<String> a = Arrays.asList(args);
        boolean dl4j = a.contains("--dl4j");
        long batch = a.contains("--batch") ? Long.parseLong(a.get(a.indexOf("--batch") + 1)) : 1;
        BatchNormalizationHelper helper = dl4j ? new MKLDNNBatchNormHelper(DataType.FLOAT) : fast();
        List<long[]> shapes = new ArrayList<>();
        shapes.add(new long[] {batch, 64, 112, 112});
        for (long[] stage : new long[][] {{64, 6, 56}, {128, 12, 28}, {256, 24, 14}, {512, 16, 7}}) {
            for (int layer = 0; layer < stage[1]; layer++) {
                shapes.add(new long[] {batch, stage[0] + 32L * layer, stage[2], stage[2]});
                shapes.add(new long[] {batch, 128, stage[2], stage[2]});
            }
        }
        WorkspaceConfiguration conf = WorkspaceConfiguration.builder().policyLearning(LearningPolicy.FIRST_LOOP)
                .policyAllocation(AllocationPolicy.STRICT).build();
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.builder().with(ArrayType.ACTIVATIONS, "bn-infer", conf).build();
        double total = 0;
        for (long[] shape : shapes) {
            int c = (int) shape[1];
            INDArray x = Nd4j.randn(DataType.FLOAT, shape);
            INDArray gamma = Nd4j.rand(DataType.FLOAT, 1, c).addi(0.5);
            INDArray beta = Nd4j.randn(DataType.FLOAT, 1, c);
            INDArray mean = Nd4j.randn(DataType.FLOAT, 1, c);
            INDArray var = Nd4j.rand(DataType.FLOAT, 1, c).addi(0.5);
            double[] ms = new double[9];
            for (int i = 0; i < 12; i++) {
                long t = System.nanoTime();
                try (var scope = ws.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
                    helper.preOutput(x, false, shape, gamma, beta, mean, var, 0.9, 1e-5, CNN2DFormat.NCHW, ws);
                }
                if (i >= 3) {
                    ms[i - 3] = (System.nanoTime() - t) / 1e6;
                }
            }
            Arrays.sort(ms);
            total += ms[ms.length / 2];
        }
        System.out.printf(Locale.ROOT, "%s, batch %d: %d batch-norm shapes of DenseNet-121 at inference, sum of medians %.1f ms%n",
                dl4j ? "DL4J's oneDNN helper" : "FastBatchNormHelper", batch, shapes.size(), total);
    }

    /** FastBatchNormHelper around DL4J's helper (its constructor is the zoo's own, hence reflection). */
    private static BatchNormalizationHelper fast() throws ReflectiveOperationException {
        Constructor<?> make = Class.forName("org.densenet4j.dl4j.FastBatchNormHelper")
                .getDeclaredConstructor(MKLDNNBatchNormHelper.class);
        make.setAccessible(true);
        return (BatchNormalizationHelper) make.newInstance(new MKLDNNBatchNormHelper(DataType.FLOAT));
    }
}
