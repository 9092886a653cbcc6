import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import org.densenet4j.dl4j.NativeDefaults;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.api.ops.impl.reduce3.Dot;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMultiplication;
import org.nd4j.linalg.api.ops.impl.scalar.Step;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The per-element passes batch normalisation and ReLU are made of, timed on one NCHW tensor: a plain
 * copy as the memory-speed yardstick, libnd4j's per-channel broadcast multiply, oneDNN's batch-norm
 * primitive used as a per-channel affine map (libnd4j's {@code batchnorm} op with given statistics),
 * ReLU and its gradient into a new array, and the contiguous per-(image, channel) reductions.
 *
 * <pre>
 * java -cp "$jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" tools/bench/ElementwiseOps.java 8 256 56 56
 * </pre>
 */
public final class ElementwiseOps {

    public static void main(String[] args) {
        NativeDefaults.apply();
        long[] shape = args.length == 4 ? Arrays.stream(args).mapToLong(Long::parseLong).toArray()
                : new long[] {8, 256, 56, 56};
        long n = shape[0];
        long c = shape[1];
        long hw = shape[2] * shape[3];
        INDArray x = Nd4j.rand(DataType.FLOAT, shape).subi(0.5);
        INDArray g = Nd4j.rand(DataType.FLOAT, shape).subi(0.5);
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape);
        INDArray x3 = x.reshape('c', n, c, hw);
        INDArray g3 = g.reshape('c', n, c, hw);
        INDArray out3 = out.reshape('c', n, c, hw);
        INDArray scale = Nd4j.rand(DataType.FLOAT, c);
        INDArray zero = Nd4j.zeros(DataType.FLOAT, c);
        INDArray one = Nd4j.ones(DataType.FLOAT, c);
        DynamicCustomOp affine = DynamicCustomOp.builder("batchnorm").addInputs(x, zero, one, scale, zero)
                .addOutputs(out).addIntegerArguments(1, 1, 1).addFloatingPointArguments(0.0).build();

        Map<String, Runnable> ops = new LinkedHashMap<>();
        ops.put("copy (out.assign(x))", () -> out.assign(x));
        ops.put("scalar multiply into out", () -> x.mul(2.0f, out));
        ops.put("broadcast multiply per channel [N,C,HW] dim 1", () -> Nd4j.exec(new BroadcastMulOp(x3, scale, out3, 1)));
        INDArray rows = Nd4j.tile(scale.reshape(1, c), (int) n, 1).reshape(n * c);
        ops.put("scalar multiply per row [N*C,HW] along dim 1", () -> {
            ScalarMultiplication op = new ScalarMultiplication(x.reshape('c', n * c, hw), rows, out.reshape('c', n * c, hw), 0.0);
            op.setDimension(1);
            Nd4j.exec(op);
        });
        ops.put("multiply op, numpy broadcast [N,C,HW]*[1,C,1]", () -> Nd4j.exec(new MulOp(x3, scale.reshape(1, c, 1), out3)));
        ops.put("oneDNN batchnorm op as per-channel affine", () -> Nd4j.exec(affine));
        ops.put("relu into out", () -> Nd4j.exec(new RectifiedLinear(x, out, 0.0)));
        DynamicCustomOp reluBp = DynamicCustomOp.builder("relu_bp").addInputs(x, g).addOutputs(out)
                .addFloatingPointArguments(0.0).build();
        ops.put("relu gradient (relu_bp) into out", () -> Nd4j.exec(reluBp));
        ops.put("relu gradient as step(x) * g (two passes)", () -> {
            Nd4j.exec(new Step(x, out, 0.0));
            Nd4j.exec(new MulOp(out, g, out));
        });
        ops.put("sum over H*W, then N", () -> x3.sum(2).sum(0));
        ops.put("dot over H*W (x*g), then N", () -> Nd4j.getExecutioner().exec(new Dot(x3, g3, 2)).sum(0));
        ops.put("sum over axes 0,2,3", () -> x.sum(0, 2, 3));
        ops.put("variance over H*W", () -> x3.var(false, 2));

        double mb = x.length() * 4 / 1e6;
        System.out.printf(Locale.ROOT, "%s float, %.1f MB, %s threads%n", Arrays.toString(shape), mb,
                System.getenv().getOrDefault("OMP_NUM_THREADS", "default"));
        for (Map.Entry<String, Runnable> e : ops.entrySet()) {
            double[] ms = new double[20];
            for (int i = 0; i < 5; i++) {
                e.getValue().run();
            }
            for (int i = 0; i < ms.length; i++) {
                long t = System.nanoTime();
                e.getValue().run();
                ms[i] = (System.nanoTime() - t) / 1e6;
            }
            Arrays.sort(ms);
            double median = (ms[9] + ms[10]) / 2;
            System.out.printf(Locale.ROOT, "%8.2f ms  %6.1f GB/s read  %s%n", median, mb / median, e.getKey());
        }
    }
}
