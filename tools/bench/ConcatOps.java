import java.util.Arrays;
import java.util.Locale;

import org.bytedeco.javacpp.Pointer;
import org.densenet4j.dl4j.NativeDefaults;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * DenseNet-121's 58 channel concatenations (the growing block input and 32 new channels), each
 * timed as libnd4j's {@code Nd4j.concat(1, ...)} and as block copies into a preallocated output
 * (what {@code FastMergeVertex} does), with the two results checked equal; and the backward split
 * of the gradient, as DL4J's MergeVertex does it (an {@code assign} from a channel-interval view per
 * part) and as block copies.
 *
 * <pre>
 * java -cp "$jar:$(cat densenet-examples/target/classpath-nd4j-native-platform.txt)" tools/bench/ConcatOps.java --batch 1
 * </pre>
 */
public final class ConcatOps {

    public static void main(String[] args) {
        NativeDefaults.apply();
        int batch = Integer.parseInt(args.length > 1 && args[0].equals("--batch") ? args[1] : "1");
        int iterations = 9;
        long[][] stages = {{64, 6, 56}, {128, 12, 28}, {256, 24, 14}, {512, 16, 7}}; // input channels, layers, size
        double concat = 0;
        double copies = 0;
        double split = 0;
        double splitCopies = 0;
        for (long[] stage : stages) {
            long size = stage[2];
            long bytesPerChannel = size * size * Float.BYTES;
            for (int layer = 0; layer < stage[1]; layer++) {
                long c = stage[0] + 32L * layer;
                INDArray x = Nd4j.rand(DataType.FLOAT, batch, c, size, size);
                INDArray y = Nd4j.rand(DataType.FLOAT, batch, 32, size, size);
                INDArray out = Nd4j.create(DataType.FLOAT, batch, c + 32, size, size);
                double[] tConcat = new double[iterations];
                double[] tCopies = new double[iterations];
                double[] tSplit = new double[iterations];
                double[] tSplitCopies = new double[iterations];
                INDArray gx = Nd4j.create(DataType.FLOAT, batch, c, size, size);
                INDArray gy = Nd4j.create(DataType.FLOAT, batch, 32, size, size);
                for (int i = 0; i < iterations; i++) {
                    long t = System.nanoTime();
                    INDArray reference = Nd4j.concat(1, x, y);
                    tConcat[i] = (System.nanoTime() - t) / 1e6;
                    t = System.nanoTime();
                    long o = address(out);
                    for (int n = 0; n < batch; n++) {
                        long example = o + n * (c + 32) * bytesPerChannel;
                        Pointer.memcpy(at(example), at(address(x) + n * c * bytesPerChannel), c * bytesPerChannel);
                        Pointer.memcpy(at(example + c * bytesPerChannel), at(address(y) + n * 32 * bytesPerChannel),
                                32 * bytesPerChannel);
                    }
                    tCopies[i] = (System.nanoTime() - t) / 1e6;
                    if (i == 0 && !reference.equals(out)) {
                        throw new AssertionError("block copies differ from Nd4j.concat for " + c + " channels");
                    }
                    t = System.nanoTime();
                    gx.assign(out.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c), NDArrayIndex.all(),
                            NDArrayIndex.all()));
                    gy.assign(out.get(NDArrayIndex.all(), NDArrayIndex.interval(c, c + 32), NDArrayIndex.all(),
                            NDArrayIndex.all()));
                    tSplit[i] = (System.nanoTime() - t) / 1e6;
                    t = System.nanoTime();
                    for (int n = 0; n < batch; n++) {
                        long example = o + n * (c + 32) * bytesPerChannel;
                        Pointer.memcpy(at(address(gx) + n * c * bytesPerChannel), at(example), c * bytesPerChannel);
                        Pointer.memcpy(at(address(gy) + n * 32 * bytesPerChannel), at(example + c * bytesPerChannel),
                                32 * bytesPerChannel);
                    }
                    tSplitCopies[i] = (System.nanoTime() - t) / 1e6;
                    if (i == 0 && !(gx.equals(x) && gy.equals(y))) {
                        throw new AssertionError("the split differs from the inputs for " + c + " channels");
                    }
                }
                concat += median(tConcat);
                copies += median(tCopies);
                split += median(tSplit);
                splitCopies += median(tSplitCopies);
            }
        }
        System.out.printf(Locale.ROOT, "batch %d: 58 concatenations, sums of medians: Nd4j.concat %.1f ms, block copies %.1f ms;"
                + " their splits: assign from views %.1f ms, block copies %.1f ms%n", batch, concat, copies, split, splitCopies);
    }

    static long address(INDArray a) {
        return a.data().addressPointer().address() + (a.offset() - a.data().offset()) * Float.BYTES;
    }

    static Pointer at(long target) {
        return new Pointer() {
            {
                address = target;
            }
        };
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }
}
