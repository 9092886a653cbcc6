package org.densenet4j.dl4j;

import java.util.List;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.onednn.OneDnn;

import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batch normalisation's training passes through oneDNN directly, in its blocked layout (the NCHW
 * arrays converted on the way in and out; {@code -Ddensenet4j.blockedBatchNorm=false} on NCHW), one
 * primitive per pass and input shape built once and kept (DL4J's oneDNN helper has libnd4j set one
 * up on every call, and its backward pass adds a dozen correction passes): the forward pass with the
 * batch's mean and (biased) variance, which the caller keeps for the running statistics and the
 * backward pass; the backward pass with the gradients of input, gamma and beta. Parameters and
 * gradients are read and written where they lie, on every call. Each pass returns null for what it
 * cannot run (another backend, not float, not 4-d, views with gaps, a shape oneDNN turns down) or
 * when {@code -Ddensenet4j.oneDnnBatchNorm=false}: the caller then runs its own.
 */
final class OneDnnBatchNorm {

    private static final int SCALE_SHIFT = dnnl.normalization_flags.use_scale.value
            | dnnl.normalization_flags.use_shift.value;

    /** The two passes, each with its operands in the order {@link OneDnn.Plan#run} binds them. */
    private enum Pass {
        /** x, y, gamma, beta, batch mean (out), batch variance (out). */
        TRAINING,
        /** x, dL/dy, gamma, beta, batch mean, batch variance, dL/dx (out), dL/dgamma (out), dL/dbeta (out). */
        BACKWARD
    }

    /** Plans per pass, input shape and epsilon; null for a shape oneDNN turned down. */
    private final OneDnn.Plans<OneDnn.Plan> plans = new OneDnn.Plans<>();
    private final boolean enabled;
    /** Whether the passes run in oneDNN's blocked layout (converting on the way), or on NCHW as it is. */
    private final boolean blocked;

    /** The passes as {@code options} say: in oneDNN or not, in its blocked layout or on NCHW. */
    OneDnnBatchNorm(FastPathOptions options) {
        this.enabled = OneDnn.LOADED && options.oneDnnBatchNorm();
        this.blocked = options.blockedBatchNorm();
    }

    /**
     * Training forward pass: {@code x} normalised with its batch statistics into a new activations
     * array, the statistics written to {@code batchMean} and {@code batchVar} ([C] each); or null.
     */
    INDArray training(INDArray x, INDArray gamma, INDArray beta, INDArray batchMean, INDArray batchVar, double eps,
            LayerWorkspaceMgr workspaceMgr) {
        OneDnn.Plan plan = plan(Pass.TRAINING, x, eps, gamma, beta, batchMean, batchVar);
        if (plan == null) {
            return null;
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, x.shape(), 'c');
        plan.run(x, out, gamma, beta, batchMean, batchVar);
        return out;
    }

    /**
     * Backward pass of a training forward pass with these batch statistics: dL/dx into a new
     * activation-gradient array, dL/dgamma and dL/dbeta into their views; or null.
     */
    INDArray backward(INDArray x, INDArray gradOut, INDArray gamma, INDArray beta, INDArray batchMean,
            INDArray batchVar, INDArray dGamma, INDArray dBeta, double eps, LayerWorkspaceMgr workspaceMgr) {
        if (!HostArrays.denseRowMajor(gradOut) || gradOut.dataType() != DataType.FLOAT
                || !java.util.Arrays.equals(gradOut.shape(), x.shape())) {
            return null;
        }
        OneDnn.Plan plan = plan(Pass.BACKWARD, x, eps, gamma, beta, batchMean, batchVar, dGamma, dBeta);
        if (plan == null) {
            return null;
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, DataType.FLOAT, x.shape(), 'c');
        plan.run(x, gradOut, gamma, beta, batchMean, batchVar, out, dGamma, dBeta);
        return out;
    }

    /** The kept plan for this pass and shape, or null when {@code x} and the per-channel arrays are not for oneDNN. */
    private OneDnn.Plan plan(Pass pass, INDArray x, double eps, INDArray... perChannel) {
        if (!enabled || x.rank() != 4 || x.dataType() != DataType.FLOAT || !HostArrays.denseRowMajor(x)) {
            return null;
        }
        for (INDArray a : perChannel) {
            if (a == null || a.dataType() != DataType.FLOAT || !HostArrays.denseRowMajor(a)
                    || a.length() != x.size(1)) {
                return null;
            }
        }
        long[] shape = x.shape();
        List<Long> key = List.of((long) pass.ordinal(), shape[0], shape[1], shape[2], shape[3],
                Double.doubleToLongBits(eps));
        return plans.get(key, () -> build(pass, shape, (float) eps, blocked));
    }

    /**
     * The plan of one pass for one shape, or null when oneDNN turns it down. oneDNN's batch norm on
     * NCHW is a plain C++ loop ({@code ncsp_bnorm}); in its blocked layout it is a JIT kernel, so much
     * faster that converting the operands there and the results back still wins (BENCHMARKS.md,
     * session 8).
     */
    private static OneDnn.Plan build(Pass pass, long[] shape, float eps, boolean blocked) {
        try {
            memory.desc plain = new memory.desc(shape, memory.data_type.f32, memory.format_tag.nchw);
            memory.desc data = blocked ? new memory.desc(shape, memory.data_type.f32, OneDnn.BLOCKED) : plain;
            memory.desc perChannel = new memory.desc(new long[] {shape[1]}, memory.data_type.f32,
                    memory.format_tag.a);
            var forward = new batch_normalization_forward.primitive_desc(new batch_normalization_forward.desc(
                    dnnl.prop_kind.forward_training.value, data, eps, SCALE_SHIFT), OneDnn.ENGINE);
            memory[] m = new memory[pass == Pass.BACKWARD ? 9 : 6];
            for (int i = 0; i < m.length; i++) {
                m[i] = OneDnn.unbound(i < 2 || i == 6 ? plain : perChannel);
            }
            OneDnn.Plan p = new OneDnn.Plan(m);
            if (pass != Pass.BACKWARD) {
                return p.then(new batch_normalization_forward(forward), OneDnn.args(
                        dnnl.DNNL_ARG_SRC, p.in(0, data), dnnl.DNNL_ARG_DST, p.out(1, data),
                        dnnl.DNNL_ARG_SCALE, m[2], dnnl.DNNL_ARG_SHIFT, m[3], dnnl.DNNL_ARG_MEAN, m[4],
                        dnnl.DNNL_ARG_VARIANCE, m[5]));
            }
            var backward = new batch_normalization_backward.primitive_desc(new batch_normalization_backward.desc(
                    dnnl.prop_kind.backward.value, data, data, eps, SCALE_SHIFT), OneDnn.ENGINE, forward);
            return p.then(new batch_normalization_backward(backward), OneDnn.args(
                    dnnl.DNNL_ARG_SRC, p.in(0, data), dnnl.DNNL_ARG_DIFF_DST, p.in(1, data),
                    dnnl.DNNL_ARG_SCALE, m[2], dnnl.DNNL_ARG_SHIFT, m[3], dnnl.DNNL_ARG_MEAN, m[4],
                    dnnl.DNNL_ARG_VARIANCE, m[5], dnnl.DNNL_ARG_DIFF_SRC, p.out(6, data),
                    dnnl.DNNL_ARG_DIFF_SCALE, m[7], dnnl.DNNL_ARG_DIFF_SHIFT, m[8]));
        } catch (RuntimeException e) { // oneDNN's error: this shape is not for it
            return null;
        }
    }
}
