package org.densenet4j.zoo;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batch normalisation at inference through oneDNN directly, {@code y = gamma * (x - mean) /
 * sqrt(var + eps) + beta} with the layer's running statistics, on the NCHW arrays as they are: one
 * primitive per input shape, built once and kept (DL4J's oneDNN helper has libnd4j set one up on
 * every call). The parameters are read where they lie on each call, so changes to them are seen.
 */
final class OneDnnBatchNorm {

    private static final int FLAGS = dnnl.normalization_flags.use_global_stats.value
            | dnnl.normalization_flags.use_scale.value | dnnl.normalization_flags.use_shift.value;

    /** Plans per input shape and epsilon; null for a shape oneDNN turned down. */
    private final Map<List<Long>, Plan> plans = new HashMap<>();

    /**
     * {@code x} normalised into a new activations array, or null when this cannot run it (another
     * backend, not float, not 4-d, views with gaps, a shape oneDNN turns down): the caller's helper then does.
     */
    INDArray inference(INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray var, double eps,
            LayerWorkspaceMgr workspaceMgr) {
        if (!OneDnn.LOADED || x.rank() != 4 || gamma == null || beta == null) {
            return null;
        }
        long channels = x.size(1);
        for (INDArray a : new INDArray[] {x, gamma, beta, mean, var}) {
            if (a == null || a.dataType() != DataType.FLOAT || !ChannelKernels.denseRowMajor(a)
                    || (a != x && a.length() != channels)) {
                return null;
            }
        }
        long[] shape = x.shape();
        List<Long> key = List.of(shape[0], shape[1], shape[2], shape[3], Double.doubleToLongBits(eps));
        Plan plan = plans.get(key);
        if (plan == null && !plans.containsKey(key)) {
            plan = Plan.create(shape, (float) eps);
            plans.put(key, plan);
        }
        if (plan == null) {
            return null;
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, shape, 'c');
        plan.run(x, gamma, beta, mean, var, out);
        return out;
    }

    /** One input shape: the primitive and its operands, bound to each call's arrays. */
    private record Plan(batch_normalization_forward primitive, memory src, memory dst, memory scale, memory shift,
            memory mean, memory variance, IntMemoryMap args) {

        static Plan create(long[] shape, float eps) {
            try {
                memory.desc data = new memory.desc(shape, memory.data_type.f32, memory.format_tag.nchw);
                memory.desc perChannel = new memory.desc(new long[] {shape[1]}, memory.data_type.f32,
                        memory.format_tag.a);
                var desc = new batch_normalization_forward.desc(dnnl.prop_kind.forward_inference.value, data, eps,
                        FLAGS);
                var pd = new batch_normalization_forward.primitive_desc(desc, OneDnn.ENGINE);
                memory src = OneDnn.unbound(data);
                memory dst = OneDnn.unbound(data);
                memory scale = OneDnn.unbound(perChannel);
                memory shift = OneDnn.unbound(perChannel);
                memory mean = OneDnn.unbound(perChannel);
                memory variance = OneDnn.unbound(perChannel);
                IntMemoryMap args = OneDnn.args(dnnl.DNNL_ARG_SRC, src, dnnl.DNNL_ARG_DST, dst,
                        dnnl.DNNL_ARG_SCALE, scale, dnnl.DNNL_ARG_SHIFT, shift,
                        dnnl.DNNL_ARG_MEAN, mean, dnnl.DNNL_ARG_VARIANCE, variance);
                return new Plan(new batch_normalization_forward(pd), src, dst, scale, shift, mean, variance, args);
            } catch (RuntimeException e) { // oneDNN's error: this shape is not for it
                return null;
            }
        }

        void run(INDArray x, INDArray gamma, INDArray beta, INDArray mean, INDArray var, INDArray out) {
            src.set_data_handle(ChannelKernels.pointer(x));
            dst.set_data_handle(ChannelKernels.pointer(out));
            scale.set_data_handle(ChannelKernels.pointer(gamma));
            shift.set_data_handle(ChannelKernels.pointer(beta));
            this.mean.set_data_handle(ChannelKernels.pointer(mean));
            variance.set_data_handle(ChannelKernels.pointer(var));
            stream s = OneDnn.STREAM.get();
            primitive.execute(s, args);
            s._wait();
        }
    }
}
