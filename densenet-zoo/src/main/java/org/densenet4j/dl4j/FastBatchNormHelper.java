package org.densenet4j.dl4j;

import java.lang.reflect.Field;
import java.util.Map;
import org.densenet4j.onednn.HostArrays;

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
import org.nd4j.linalg.factory.Nd4j;

/**
 * Faster passes for DL4J's {@link BatchNormalization} layers on the CPU.
 *
 * <p>DL4J's oneDNN helper has libnd4j set up a oneDNN primitive on every call, and hands the
 * backward pass to libnd4j's {@code batchnorm_bp}, which runs oneDNN with the batch statistics held
 * fixed and then adds the statistics' share of the gradient in about a dozen further passes, three
 * of them reductions over the non-contiguous axes (0, 2, 3). That made it a quarter of a DenseNet
 * training step. For training this helper first runs oneDNN's own primitives directly, built once
 * per shape ({@link OneDnnBatchNorm}: the batch statistics forward, oneDNN's fused backward pass);
 * inference is one per-channel affine pass in Java on the calling thread, which beats oneDNN's
 * primitive for NCHW on DenseNet's shapes.
 *
 * <p>Where oneDNN cannot run (or with {@code -Ddensenet4j.oneDnnBatchNorm=false}) the training
 * passes are Java loops ({@link ChannelKernels}). Written out, the whole input gradient is one
 * per-channel affine map of the output gradient {@code g} and the input {@code x}:
 *
 * <pre>
 *   dL/dx = a*g + b*(x - mean) + c,   a = gamma/sigma,   b = -a*dGamma/(sigma*M),   c = -a*dBeta/M
 *   dBeta = sum(g),   dGamma = sum(g*(x - mean))/sigma,   sigma = sqrt(var + eps)
 * </pre>
 *
 * (sums over the M = N*H*W positions of a channel): the two sums in one pass over {@code g} and
 * {@code x}, the per-channel coefficients in double precision, the gradient in a second pass. The
 * forward pass takes the batch statistics in two contiguous passes (the sum, then the squares about
 * the mean) and normalises in a third. Both paths give PyTorch's results to float rounding (tested).
 * NHWC and non-float inputs stay with DL4J's oneDNN helper. The layer remains DL4J's own
 * BatchNormalization: configuration, parameters and serialisation are unchanged.
 */
public final class FastBatchNormHelper implements BatchNormalizationHelper {

    private static final Field HELPER_FIELD = Dl4jInternals.BATCH_NORM_HELPER;

    private final MKLDNNBatchNormHelper oneDnn;
    /** oneDNN directly, its primitives kept per shape; the Java loops where it cannot run. */
    private final OneDnnBatchNorm direct;
    /** The last training batch's mean and (biased) variance, when this helper computed them. */
    private INDArray meanCache;
    private INDArray varCache;
    private boolean ownStatistics;

    FastBatchNormHelper(MKLDNNBatchNormHelper oneDnn) {
        this(oneDnn, FastPathOptions.fromSystemProperties());
    }

    FastBatchNormHelper(MKLDNNBatchNormHelper oneDnn, FastPathOptions options) {
        this.oneDnn = oneDnn;
        this.direct = new OneDnnBatchNorm(options);
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
        return install(graph, FastPathOptions.fromSystemProperties());
    }

    /**
     * As {@link #install(ComputationGraph)}, with the passes as {@code options} say (nothing when {@code fastBatchNorm}
     * is off).
     */
    public static ComputationGraph install(ComputationGraph graph, FastPathOptions options) {
        if (HELPER_FIELD == null || graph.getLayers() == null || !options.fastBatchNorm()) {
            return graph;
        }
        boolean oneDnnHere = NativeDefaults.oneDnnLayerHelpers();
        for (Layer layer : graph.getLayers()) {
            if (layer instanceof BatchNormalization bn && (bn.getHelper() instanceof MKLDNNBatchNormHelper
                    || bn.getHelper() == null && oneDnnHere)) {
                // DL4J 1.0.0-M2.1 creates no oneDNN helper of its own (NativeDefaults.oneDnnLayerHelpers says why)
                MKLDNNBatchNormHelper oneDnn = bn.getHelper() instanceof MKLDNNBatchNormHelper own ? own
                        : new MKLDNNBatchNormHelper(graph.getConfiguration().getDataType());
                try {
                    HELPER_FIELD.set(bn, new FastBatchNormHelper(oneDnn, options));
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
        INDArray x = HostArrays.contiguous(input);
        INDArray g = HostArrays.contiguous(epsilon);
        if (dGammaView != null && dBetaView != null) { // null when gamma and beta are locked
            INDArray out = direct.backward(x, g, gamma, beta, mean, var, dGammaView, dBetaView, eps, workspaceMgr);
            if (out != null) {
                return new Pair<>(gradients(dGammaView, dBetaView), out);
            }
        }
        if (!ChannelKernels.usable(x, g)) {
            return oneDnn.backpropGradient(input, epsilon, shape, gamma, beta, dGammaView, dBetaView, eps, format,
                    workspaceMgr);
        }
        int c = (int) input.size(1);
        int rows = (int) input.size(0) * c;
        double count = (double) input.size(0) * input.size(2) * input.size(3);
        float[] centre = mean.toFloatVector();
        // Per channel: sum(g) and sum(g * (x - mean)), x - mean first so that the sums do not cancel
        // large channel offsets; one pass over g and x.
        double[][] rowSums = ChannelKernels.rowGradientSums(g, x, rows, centre);
        double[] sumG = perChannelTotals(rowSums[0], c);
        double[] sumGxc = perChannelTotals(rowSums[1], c);

        double[] v = var.toDoubleVector();
        double[] gam = gamma.toDoubleVector();
        double[] dGamma = new double[c];
        float[] a = new float[c];
        float[] b = new float[c];
        float[] offset = new float[c];
        for (int i = 0; i < c; i++) {
            double sigma = Math.sqrt(v[i] + eps);
            double ai = gam[i] / sigma;
            dGamma[i] = sumGxc[i] / sigma;
            a[i] = (float) ai;
            b[i] = (float) (-ai * dGamma[i] / (sigma * count));
            offset[i] = (float) (-ai * sumG[i] / count);
        }
        if (dGammaView != null && dBetaView != null) { // null when gamma and beta are locked
            dGammaView.assign(floats(dGamma).reshape(dGammaView.shape()));
            dBetaView.assign(floats(sumG).reshape(dBetaView.shape()));
        }

        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, input.shape(), 'c');
        ChannelKernels.gradientMap(g, x, rows, centre, a, b, offset, out);

        return new Pair<>(gradients(dGammaView, dBetaView), out);
    }

    private static Gradient gradients(INDArray dGammaView, INDArray dBetaView) {
        Gradient grad = new DefaultGradient();
        grad.setGradientFor("gamma", dGammaView);
        grad.setGradientFor("beta", dBetaView);
        return grad;
    }

    /** Row totals of {@code [N, C]} rows summed over N, per channel. */
    private static double[] perChannelTotals(double[] rowTotals, int channels) {
        double[] totals = new double[channels];
        for (int r = 0; r < rowTotals.length; r++) {
            totals[r % channels] += rowTotals[r];
        }
        return totals;
    }

    private static INDArray floats(double[] values) {
        return Nd4j.createFromArray(values).castTo(DataType.FLOAT);
    }

    @Override
    public INDArray preOutput(INDArray x, boolean training, long[] shape, INDArray gamma, INDArray beta,
            INDArray mean, INDArray var, double decay, double eps, CNN2DFormat format,
            LayerWorkspaceMgr workspaceMgr) {
        if (!training && format == CNN2DFormat.NCHW) {
            ownStatistics = false;
            INDArray out = inference(x, gamma, beta, mean, var, eps, workspaceMgr);
            if (out != null) {
                return out;
            }
        }
        if (!training || x.rank() != 4 || format != CNN2DFormat.NCHW || x.dataType() != DataType.FLOAT
                || gamma == null || beta == null) {
            ownStatistics = false;
            return oneDnn.preOutput(x, training, shape, gamma, beta, mean, var, decay, eps, format, workspaceMgr);
        }
        INDArray xc = HostArrays.contiguous(x);
        INDArray statsMean;
        INDArray statsVar;
        try (MemoryWorkspace none = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            statsMean = Nd4j.createUninitialized(DataType.FLOAT, x.size(1));
            statsVar = Nd4j.createUninitialized(DataType.FLOAT, x.size(1));
        }
        INDArray normalised = direct.training(xc, gamma, beta, statsMean, statsVar, eps, workspaceMgr);
        if (normalised != null) {
            meanCache = statsMean;
            varCache = statsVar;
            ownStatistics = true;
            return normalised;
        }
        if (!ChannelKernels.usable(xc)) {
            ownStatistics = false;
            return oneDnn.preOutput(x, training, shape, gamma, beta, mean, var, decay, eps, format, workspaceMgr);
        }
        // Training: the batch statistics in two passes over x (the sum, then the squares about the
        // mean), y = x * gamma/sigma + (beta - mean * gamma/sigma) in a third.
        int channels = (int) x.size(1);
        int rows = (int) x.size(0) * channels;
        double count = (double) x.size(0) * x.size(2) * x.size(3);
        double[] batchMean = perChannelTotals(ChannelKernels.rowSums(xc, rows), channels);
        float[] centre = new float[channels];
        for (int i = 0; i < channels; i++) {
            batchMean[i] /= count;
            centre[i] = (float) batchMean[i];
        }
        double[] batchVar = perChannelTotals(ChannelKernels.rowCentredSquares(xc, rows, centre), channels);
        for (int i = 0; i < channels; i++) {
            batchVar[i] /= count;
        }
        float[] scale = new float[channels];
        float[] shift = new float[channels];
        scaleAndShift(gamma.toDoubleVector(), beta.toDoubleVector(), batchMean, batchVar, eps, scale, shift);
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, x.shape(), 'c');
        ChannelKernels.affine(xc, rows, scale, shift, out, true);

        try (MemoryWorkspace none = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            meanCache = floats(batchMean);
            varCache = floats(batchVar);
        }
        ownStatistics = true;
        return out;
    }

    /**
     * Inference, {@code y = x * gamma/sigma + (beta - mean * gamma/sigma)} with the running statistics,
     * in one pass on the calling thread; null where it cannot run. On DenseNet's shapes this beats
     * oneDNN's NCHW primitive, whether through libnd4j or called directly, and the same loop shared
     * out over the kernel threads (BENCHMARKS.md, tools/bench/BatchNormInference.java).
     */
    private static INDArray inference(INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray var,
            double eps, LayerWorkspaceMgr workspaceMgr) {
        int channels = x.rank() == 4 ? (int) x.size(1) : -1;
        if (channels < 0 || x.dataType() != DataType.FLOAT || gamma == null || beta == null || mean == null
                || var == null || gamma.length() != channels || beta.length() != channels
                || mean.length() != channels || var.length() != channels) {
            return null;
        }
        INDArray xc = HostArrays.contiguous(x); // after the checks: a copy only when it will be used
        if (!ChannelKernels.usable(xc)) {
            return null;
        }
        float[] scale = new float[channels];
        float[] shift = new float[channels];
        scaleAndShift(gamma.toDoubleVector(), beta.toDoubleVector(), mean.toDoubleVector(), var.toDoubleVector(),
                eps, scale, shift);
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, x.shape(), 'c');
        ChannelKernels.affine(xc, (int) x.size(0) * channels, scale, shift, out, false);
        return out;
    }

    /**
     * Batch normalisation as a per-channel affine map, {@code y = x * scale + shift}, with
     * {@code scale = gamma/sqrt(var + eps)} and {@code shift = beta - mean * scale}, computed in double
     * precision and rounded once.
     */
    private static void scaleAndShift(double[] gamma, double[] beta, double[] mean, double[] var, double eps,
            float[] scale, float[] shift) {
        for (int c = 0; c < scale.length; c++) {
            double s = gamma[c] / Math.sqrt(var[c] + eps);
            scale[c] = (float) s;
            shift[c] = (float) (beta[c] - mean[c] * s);
        }
    }

    @Override
    public boolean checkSupported(double eps, boolean fixedGammaBeta) {
        return !fixedGammaBeta && checkSupported(); // DL4J's asks its broken lookup at every call
    }

    @Override
    public boolean checkSupported() {
        return NativeDefaults.libnd4jUsesOneDnn();
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
