package org.densenet4j.dl4j;

import java.util.List;
import org.densenet4j.onednn.HostArrays;
import org.densenet4j.onednn.OneDnn;

import org.bytedeco.dnnl.eltwise_backward;
import org.bytedeco.dnnl.eltwise_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * ReLU through oneDNN directly, each way in one pass over dense float arrays (taken as flat
 * vectors, the shape does not matter to an elementwise map), its primitives kept per length:
 * forward {@code max(x, 0)}, backward {@code g} where {@code x > 0}, else 0 (DL4J's gradient, 0 at
 * {@code x = 0}). Each call returns false for what it cannot run (another backend, not float, views
 * with gaps) or when {@code -Ddensenet4j.oneDnnRelu=false}; the caller then runs libnd4j's ops.
 */
final class OneDnnRelu {

    private final OneDnn.Plans<OneDnn.Plan> plans = new OneDnn.Plans<>();
    private final boolean enabled;

    /** oneDNN's ReLU as the system properties say ({@link FastPathOptions#fromSystemProperties()}). */
    OneDnnRelu() {
        this(FastPathOptions.fromSystemProperties());
    }

    OneDnnRelu(FastPathOptions options) {
        this.enabled = OneDnn.LOADED && options.oneDnnRelu();
    }

    /** {@code out = max(x, 0)}; false if not run. */
    boolean forward(INDArray x, INDArray out) {
        OneDnn.Plan plan = plan(false, x, out);
        if (plan == null) {
            return false;
        }
        plan.run(x, out);
        return true;
    }

    /** {@code out = x > 0 ? g : 0}; false if not run. */
    boolean backward(INDArray x, INDArray g, INDArray out) {
        OneDnn.Plan plan = plan(true, x, g, out);
        if (plan == null) {
            return false;
        }
        plan.run(x, g, out);
        return true;
    }

    private OneDnn.Plan plan(boolean backward, INDArray... arrays) {
        if (!enabled) {
            return null;
        }
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || !HostArrays.denseRowMajor(a) || a.length() != arrays[0].length()) {
                return null;
            }
        }
        long length = arrays[0].length();
        return plans.get(List.of(backward ? 1L : 0L, length), () -> build(backward, length));
    }

    /** The primitive of one pass for one length, or null when oneDNN turns it down. */
    private static OneDnn.Plan build(boolean backward, long length) {
        try {
            memory.desc flat = new memory.desc(new long[] {length}, memory.data_type.f32, memory.format_tag.a);
            var forward = new eltwise_forward.primitive_desc(new eltwise_forward.desc(
                    backward ? dnnl.prop_kind.forward_training : dnnl.prop_kind.forward_inference,
                    dnnl.algorithm.eltwise_relu, flat, 0f, 0f), OneDnn.ENGINE);
            if (!backward) {
                OneDnn.Plan p = new OneDnn.Plan(OneDnn.unbound(flat), OneDnn.unbound(flat));
                return p.then(new eltwise_forward(forward),
                        OneDnn.args(dnnl.DNNL_ARG_SRC, p.user(0), dnnl.DNNL_ARG_DST, p.user(1)));
            }
            var pd = new eltwise_backward.primitive_desc(new eltwise_backward.desc(dnnl.algorithm.eltwise_relu,
                    flat, flat, 0f, 0f), OneDnn.ENGINE, forward);
            OneDnn.Plan p = new OneDnn.Plan(OneDnn.unbound(flat), OneDnn.unbound(flat), OneDnn.unbound(flat));
            return p.then(new eltwise_backward(pd), OneDnn.args(dnnl.DNNL_ARG_SRC, p.user(0),
                    dnnl.DNNL_ARG_DIFF_DST, p.user(1), dnnl.DNNL_ARG_DIFF_SRC, p.user(2)));
        } catch (RuntimeException e) { // oneDNN's error: not for it
            return null;
        }
    }
}
