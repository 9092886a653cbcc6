package org.densenet4j.zoo;

import java.lang.reflect.Field;
import java.util.Map;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.layers.normalization.BatchNormalizationHelper;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce3.Dot;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.AddOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.MulOp;
import org.nd4j.linalg.api.ops.impl.transforms.pairwise.arithmetic.SubOp;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Faster training passes for DL4J's {@link BatchNormalization} layers on the CPU.
 *
 * <p>DL4J's oneDNN helper hands the backward pass to libnd4j's {@code batchnorm_bp}, which runs
 * oneDNN with the batch statistics held fixed and then adds the statistics' share of the gradient
 * in about a dozen further passes, three of them reductions over the non-contiguous axes (0, 2, 3).
 * That made it a quarter of a DenseNet training step. Written out, the whole input gradient is one
 * per-channel affine map of the output gradient {@code g} and the input {@code x}:
 *
 * <pre>
 *   dL/dx = a*g + b*(x - mean) + c,   a = gamma/sigma,   b = -a*dGamma/(sigma*M),   c = -a*dBeta/M
 *   dBeta = sum(g),   dGamma = sum(g*(x - mean))/sigma,   sigma = sqrt(var + eps)
 * </pre>
 *
 * (sums over the M = N*H*W positions of a channel). This helper computes the two sums as
 * contiguous reductions over a {@code [N, C, H*W]} view, the per-channel coefficients in double
 * precision, and the gradient in five elementwise passes: several times faster than
 * {@code batchnorm_bp} on DenseNet's tensors, with the same results to float rounding.
 *
 * <p>The training forward pass likewise takes the batch statistics as contiguous reductions (DL4J's
 * helper reduces over axes (0, 2, 3), which costs more than the normalisation itself); inference
 * stays with DL4J's oneDNN helper, as do NHWC and non-float inputs. The layer remains DL4J's own
 * BatchNormalization: configuration, parameters and serialisation are unchanged.
 */
public final class FastBatchNormHelper implements BatchNormalizationHelper {

    private static final Field HELPER_FIELD = helperField();

    private final MKLDNNBatchNormHelper oneDnn;
    /** The last training batch's mean and (biased) variance, when this helper computed them. */
    private INDArray meanCache;
    private INDArray varCache;
    private boolean ownStatistics;

    FastBatchNormHelper(MKLDNNBatchNormHelper oneDnn) {
        this.oneDnn = oneDnn;
    }

    /**
     * Gives every BatchNormalization layer of {@code graph} that runs DL4J's oneDNN helper this
     * helper instead; layers on other helpers (cuDNN) or on none are left alone. The zoo's
     * {@code init()}, {@code initPretrained()} and model readers call it; call it yourself on a
     * graph made in another way (TransferLearning, {@code ModelSerializer}).
     * {@code -Ddensenet4j.fastBatchNorm=false} turns it off.
     *
     * @return {@code graph}, for chaining
     */
    public static ComputationGraph install(ComputationGraph graph) {
        if (HELPER_FIELD == null || graph.getLayers() == null
                || "false".equalsIgnoreCase(System.getProperty("densenet4j.fastBatchNorm"))) {
            return graph;
        }
        for (Layer layer : graph.getLayers()) {
            if (layer instanceof BatchNormalization bn && bn.getHelper() instanceof MKLDNNBatchNormHelper oneDnn) {
                try {
                    HELPER_FIELD.set(bn, new FastBatchNormHelper(oneDnn));
                } catch (IllegalAccessException e) {
                    return graph; // cannot happen once setAccessible succeeded; DL4J's helper stays
                }
            }
        }
        return graph;
    }

    /** Whether {@code graph}'s BatchNormalization layers all run this helper (and it has some). */
    public static boolean installed(ComputationGraph graph) {
        boolean any = false;
        for (Layer layer : graph.getLayers()) {
            if (layer instanceof BatchNormalization bn) {
                if (!(bn.getHelper() instanceof FastBatchNormHelper)) {
                    return false;
                }
                any = true;
            }
        }
        return any;
    }

    private static Field helperField() {
        try {
            Field f = BatchNormalization.class.getDeclaredField("helper");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // another DL4J version: its own helpers run, only slower
        }
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray input, INDArray epsilon, long[] shape, INDArray gamma,
            INDArray beta, INDArray dGammaView, INDArray dBetaView, double eps, CNN2DFormat format,
            LayerWorkspaceMgr workspaceMgr) {
        INDArray mean = getMeanCache(DataType.FLOAT);
        INDArray var = getVarCache(DataType.FLOAT);
        if (input.rank() != 4 || format != CNN2DFormat.NCHW || input.dataType() != DataType.FLOAT
                || gamma == null || mean == null || var == null) {
            return oneDnn.backpropGradient(input, epsilon, shape, gamma, beta, dGammaView, dBetaView, eps, format,
                    workspaceMgr);
        }
        long n = input.size(0);
        long channels = input.size(1);
        long positions = input.size(2) * input.size(3);
        INDArray x = Shape.hasDefaultStridesForShape(input) ? input : input.dup('c');
        INDArray g = Shape.hasDefaultStridesForShape(epsilon) ? epsilon : epsilon.dup('c');
        INDArray x3 = x.reshape('c', n, channels, positions);
        INDArray g3 = g.reshape('c', n, channels, positions);

        // x - mean first: the sums and the gradient then avoid cancelling large channel offsets
        INDArray centred = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, DataType.FLOAT,
                new long[] {n, channels, positions}, 'c');
        Nd4j.exec(new SubOp(x3, perChannel(mean), centred));

        // Per-channel sums: contiguous reductions over H*W, then over the batch.
        double[] sumG = g3.sum(2).sum(0).toDoubleVector();
        double[] sumGxc = Nd4j.getExecutioner().exec(new Dot(g3, centred, 2)).sum(0).toDoubleVector();

        double[] v = var.toDoubleVector();
        double[] gam = gamma.toDoubleVector();
        int c = (int) channels;
        double count = (double) n * positions;
        double[] dGamma = new double[c];
        double[] a = new double[c];
        double[] b = new double[c];
        double[] offset = new double[c];
        for (int i = 0; i < c; i++) {
            double sigma = Math.sqrt(v[i] + eps);
            dGamma[i] = sumGxc[i] / sigma;
            a[i] = gam[i] / sigma;
            b[i] = -a[i] * dGamma[i] / (sigma * count);
            offset[i] = -a[i] * sumG[i] / count;
        }
        if (dGammaView != null && dBetaView != null) { // null when gamma and beta are locked
            dGammaView.assign(floats(dGamma).reshape(dGammaView.shape()));
            dBetaView.assign(floats(sumG).reshape(dBetaView.shape()));
        }

        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, input.shape(), 'c');
        INDArray out3 = out.reshape('c', n, channels, positions);
        Nd4j.exec(new MulOp(g3, perChannel(floats(a)), out3));
        Nd4j.exec(new MulOp(centred, perChannel(floats(b)), centred));
        out3.addi(centred);
        Nd4j.exec(new AddOp(out3, perChannel(floats(offset)), out3));

        Gradient grad = new DefaultGradient();
        grad.setGradientFor("gamma", dGammaView);
        grad.setGradientFor("beta", dBetaView);
        return new Pair<>(grad, out);
    }

    /**
     * A per-channel vector as {@code [1, C, 1]}, for libnd4j's pairwise ops to broadcast over
     * {@code [N, C, H*W]} (several times faster than the legacy broadcast ops along dimension 1,
     * which walk a strided vector per position).
     */
    private static INDArray perChannel(INDArray vector) {
        return vector.reshape(1, vector.length(), 1);
    }

    private static INDArray floats(double[] values) {
        return Nd4j.createFromArray(values).castTo(DataType.FLOAT);
    }

    @Override
    public INDArray preOutput(INDArray x, boolean training, long[] shape, INDArray gamma, INDArray beta,
            INDArray mean, INDArray var, double decay, double eps, CNN2DFormat format,
            LayerWorkspaceMgr workspaceMgr) {
        if (!training || x.rank() != 4 || format != CNN2DFormat.NCHW || x.dataType() != DataType.FLOAT
                || gamma == null || beta == null) {
            ownStatistics = false;
            return oneDnn.preOutput(x, training, shape, gamma, beta, mean, var, decay, eps, format, workspaceMgr);
        }
        // Training: batch statistics from contiguous reductions, y = (x - mean) * gamma/sigma + beta
        // computed in the output buffer (the reductions over axes (0, 2, 3) cost more than all of this).
        long n = x.size(0);
        long channels = x.size(1);
        long positions = x.size(2) * x.size(3);
        double count = (double) n * positions;
        INDArray x3 = (Shape.hasDefaultStridesForShape(x) ? x : x.dup('c')).reshape('c', n, channels, positions);
        double[] batchMean = x3.sum(2).sum(0).toDoubleVector();
        for (int i = 0; i < batchMean.length; i++) {
            batchMean[i] /= count;
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, x.shape(), 'c');
        INDArray out3 = out.reshape('c', n, channels, positions);
        Nd4j.exec(new SubOp(x3, perChannel(floats(batchMean)), out3));
        double[] batchVar = Nd4j.getExecutioner().exec(new Dot(out3, out3, 2)).sum(0).toDoubleVector();
        double[] gam = gamma.toDoubleVector();
        double[] scale = new double[batchVar.length];
        for (int i = 0; i < batchVar.length; i++) {
            batchVar[i] /= count;
            scale[i] = gam[i] / Math.sqrt(batchVar[i] + eps);
        }
        Nd4j.exec(new MulOp(out3, perChannel(floats(scale)), out3));
        Nd4j.exec(new AddOp(out3, perChannel(beta.reshape(channels)), out3));

        try (MemoryWorkspace none = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            meanCache = floats(batchMean);
            varCache = floats(batchVar);
        }
        ownStatistics = true;
        return out;
    }

    @Override
    public boolean checkSupported(double eps, boolean fixedGammaBeta) {
        return oneDnn.checkSupported(eps, fixedGammaBeta);
    }

    @Override
    public boolean checkSupported() {
        return oneDnn.checkSupported();
    }

    @Override
    public INDArray getMeanCache(DataType dataType) {
        return ownStatistics ? meanCache : oneDnn.getMeanCache(dataType);
    }

    @Override
    public INDArray getVarCache(DataType dataType) {
        return ownStatistics ? varCache : oneDnn.getVarCache(dataType);
    }

    @Override
    public Map<String, Long> helperMemoryUse() {
        return oneDnn.helperMemoryUse();
    }
}
