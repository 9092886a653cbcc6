package org.densenet4j.dl4j;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import org.densenet4j.onednn.HostArrays;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fused per-channel passes over float tensors in host memory, written in Java: batch normalisation's
 * statistics, its affine map and its gradient, each in one pass where libnd4j's ops take two to
 * five (every op reads and writes the whole tensor, and on 2 cores these tensors are bound by
 * memory more than by arithmetic).
 *
 * <p>A tensor is seen as rows: {@code [N, C, positions]} in C order, row {@code r} is channel
 * {@code r % C} of sample {@code r / C}. Rows are shared among {@code Nd4j}'s threads; sums run in
 * four float lanes per row (enough for a row of a few thousand positions) and add up in double.
 * Only for the CPU backend ({@link #usable}): on CUDA the data lives on the device.
 * {@code -Ddensenet4j.kernelThreads=N} sets the number of threads (default: libnd4j's).
 */
final class ChannelKernels {

    /** Elements below which a loop runs on the calling thread alone. */
    private static final long SERIAL_ELEMENTS = 1 << 15;

    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1, threads()));

    private ChannelKernels() {
    }

    /** Whether the kernels can run on {@code arrays}: CPU backend, float, dense in C order. */
    static boolean usable(INDArray... arrays) {
        if (!HostArrays.CPU) {
            return false;
        }
        for (INDArray a : arrays) {
            if (a == null || a.dataType() != DataType.FLOAT || !HostArrays.denseRowMajor(a)
                    || a.length() > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code a}'s elements, in order, as a buffer over its memory (no copy). The buffer does not keep
     * {@code a} alive: each kernel fences its arrays after its last access.
     */
    static FloatBuffer floats(INDArray a) {
        FloatPointer p = new FloatPointer(HostArrays.pointer(a));
        p.capacity(a.length()).limit(a.length());
        return p.asBuffer();
    }

    /** Per row: the sum of its elements. */
    static double[] rowSums(INDArray x, int rows) {
        FloatBuffer xb = floats(x);
        int len = (int) (x.length() / rows);
        double[] sums = new double[rows];
        forEachRow(rows, len, r -> {
            int base = r * len;
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int i = 0;
            for (; i + 3 < len; i += 4) {
                s0 += xb.get(base + i);
                s1 += xb.get(base + i + 1);
                s2 += xb.get(base + i + 2);
                s3 += xb.get(base + i + 3);
            }
            for (; i < len; i++) {
                s0 += xb.get(base + i);
            }
            sums[r] = (double) s0 + s1 + s2 + s3;
        });
        Reference.reachabilityFence(x);
        return sums;
    }

    /** Per row {@code r}: the sum of {@code (x - centre[r % C])^2}. */
    static double[] rowCentredSquares(INDArray x, int rows, float[] centre) {
        FloatBuffer xb = floats(x);
        int len = (int) (x.length() / rows);
        int channels = centre.length;
        double[] sums = new double[rows];
        forEachRow(rows, len, r -> {
            int base = r * len;
            float m = centre[r % channels];
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            int i = 0;
            for (; i + 3 < len; i += 4) {
                float d0 = xb.get(base + i) - m;
                float d1 = xb.get(base + i + 1) - m;
                float d2 = xb.get(base + i + 2) - m;
                float d3 = xb.get(base + i + 3) - m;
                s0 += d0 * d0;
                s1 += d1 * d1;
                s2 += d2 * d2;
                s3 += d3 * d3;
            }
            for (; i < len; i++) {
                float d = xb.get(base + i) - m;
                s0 += d * d;
            }
            sums[r] = (double) s0 + s1 + s2 + s3;
        });
        Reference.reachabilityFence(x);
        return sums;
    }

    /**
     * Per row {@code r}, channel {@code c = r % C}: {@code out = x * scale[c] + shift[c]}; the rows
     * shared out over the kernel threads if {@code parallel}, else all on the calling thread.
     */
    static void affine(INDArray x, int rows, float[] scale, float[] shift, INDArray out, boolean parallel) {
        FloatBuffer xb = floats(x);
        FloatBuffer ob = floats(out);
        int len = (int) (x.length() / rows);
        RowTask row = r -> {
            int base = r * len;
            float a = scale[r % scale.length];
            float b = shift[r % shift.length];
            for (int i = base; i < base + len; i++) {
                ob.put(i, xb.get(i) * a + b);
            }
        };
        if (parallel) {
            forEachRow(rows, len, row);
        } else {
            for (int r = 0; r < rows; r++) {
                row.run(r);
            }
        }
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(out);
    }

    /**
     * Batch normalisation's backward sums, per row {@code r}, channel {@code c}: {@code sum(g)} and
     * {@code sum(g * (x - centre[c]))}, as two arrays of per-row sums.
     */
    static double[][] rowGradientSums(INDArray g, INDArray x, int rows, float[] centre) {
        FloatBuffer gb = floats(g);
        FloatBuffer xb = floats(x);
        int len = (int) (x.length() / rows);
        int channels = centre.length;
        double[] sumG = new double[rows];
        double[] sumGx = new double[rows];
        forEachRow(rows, len, r -> {
            int base = r * len;
            float m = centre[r % channels];
            float s0 = 0, s1 = 0, p0 = 0, p1 = 0;
            int i = 0;
            for (; i + 1 < len; i += 2) {
                float g0 = gb.get(base + i);
                float g1 = gb.get(base + i + 1);
                s0 += g0;
                s1 += g1;
                p0 += g0 * (xb.get(base + i) - m);
                p1 += g1 * (xb.get(base + i + 1) - m);
            }
            for (; i < len; i++) {
                float g0 = gb.get(base + i);
                s0 += g0;
                p0 += g0 * (xb.get(base + i) - m);
            }
            sumG[r] = (double) s0 + s1;
            sumGx[r] = (double) p0 + p1;
        });
        Reference.reachabilityFence(g);
        Reference.reachabilityFence(x);
        return new double[][] {sumG, sumGx};
    }

    /**
     * Batch normalisation's input gradient, per row {@code r}, channel {@code c}:
     * {@code out = a[c] * g + b[c] * (x - centre[c]) + offset[c]}.
     */
    static void gradientMap(INDArray g, INDArray x, int rows, float[] centre, float[] a, float[] b, float[] offset,
            INDArray out) {
        FloatBuffer gb = floats(g);
        FloatBuffer xb = floats(x);
        FloatBuffer ob = floats(out);
        int len = (int) (x.length() / rows);
        int channels = centre.length;
        forEachRow(rows, len, r -> {
            int base = r * len;
            int c = r % channels;
            float m = centre[c];
            float ac = a[c];
            float bc = b[c];
            float oc = offset[c];
            for (int i = base; i < base + len; i++) {
                ob.put(i, ac * gb.get(i) + bc * (xb.get(i) - m) + oc);
            }
        });
        Reference.reachabilityFence(g);
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(out);
    }

    @FunctionalInterface
    private interface RowTask {
        void run(int row);
    }

    private static void forEachRow(int rows, int rowLength, RowTask task) {
        if ((long) rows * rowLength < SERIAL_ELEMENTS || POOL.getParallelism() == 1) {
            for (int r = 0; r < rows; r++) {
                task.run(r);
            }
            return;
        }
        POOL.submit(() -> IntStream.range(0, rows).parallel().forEach(task::run)).join();
    }

    /** {@link FastPathOptions#kernelThreads()} when set, else libnd4j's thread count (OMP_NUM_THREADS or the cores). */
    private static int threads() {
        int set = FastPathOptions.fromSystemProperties().kernelThreads();
        if (set > 0) {
            return set;
        }
        try {
            return Nd4j.getEnvironment().maxMasterThreads();
        } catch (RuntimeException | LinkageError e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }
}
