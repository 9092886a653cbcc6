package org.densenet4j.zoo;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.dnnl.global.dnnl;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.AlgoMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer.FwdAlgo;
import org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DL4J's oneDNN convolution helper with a faster forward pass: oneDNN called directly, with one
 * primitive per input shape built once and kept.
 *
 * <p>libnd4j's {@code conv2d} (what {@link MKLDNNConvHelper} runs) sets up its oneDNN primitive and
 * converts the data to and from oneDNN's blocked layout on every call; on DenseNet's many small
 * convolutions that costs more than the arithmetic (120 convolutions of DenseNet-121 at batch 1:
 * 108-130 ms through libnd4j against about 50 ms this way). Per shape this helper picks the layout
 * oneDNN runs fastest on these shapes: 1x1 stride-1 convolutions straight on the NCHW arrays (a
 * matrix product, no conversion), the others in oneDNN's blocked layout with the data converted in
 * shared scratch buffers. The weights are converted on every call, so updates to them in place
 * (training, {@code setParams}) are always seen.
 *
 * <p>The backward pass, NHWC, dilated or non-float convolutions are {@link MKLDNNConvHelper}'s, as
 * is any shape oneDNN turns down. As a subclass the helper is, to DL4J's ConvolutionLayer, its own
 * oneDNN helper (it checks the class for bias handling and fallback messages).
 */
final class OneDnnConvHelper extends MKLDNNConvHelper {

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Layers' plans per input shape; a layer sees one or two shapes (batch sizes) in practice. */
    private final Map<List<Long>, Plan> plans = new HashMap<>();

    OneDnnConvHelper(DataType dataType) {
        super(dataType);
    }

    /** Whether oneDNN's natives loaded and the helper is not switched off ({@code -Ddensenet4j.oneDnnConv=false}). */
    static boolean available() {
        return OneDnn.LOADED && !"false".equalsIgnoreCase(System.getProperty("densenet4j.oneDnnConv"));
    }

    @Override
    public INDArray preOutput(INDArray input, INDArray weights, INDArray bias, int[] kernel, int[] strides, int[] pad,
            AlgoMode mode, FwdAlgo fwdAlgo, ConvolutionMode convolutionMode, int[] dilation, CNN2DFormat format,
            LayerWorkspaceMgr workspaceMgr) {
        if (format != CNN2DFormat.NCHW || input.rank() != 4 || input.dataType() != DataType.FLOAT
                || weights.dataType() != DataType.FLOAT || dilation[0] != 1 || dilation[1] != 1
                || convolutionMode == ConvolutionMode.Causal) {
            return super.preOutput(input, weights, bias, kernel, strides, pad, mode, fwdAlgo, convolutionMode,
                    dilation, format, workspaceMgr);
        }
        int[] inSize = {(int) input.size(2), (int) input.size(3)};
        int[] outSize;
        int[] padLeft;
        if (convolutionMode == ConvolutionMode.Same) {
            outSize = ConvolutionUtils.getOutputSize(input, kernel, strides, null, convolutionMode, dilation, format);
            padLeft = ConvolutionUtils.getSameModeTopLeftPadding(outSize, inSize, kernel, strides, dilation);
        } else {
            outSize = ConvolutionUtils.getOutputSize(input, kernel, strides, pad, convolutionMode, dilation, format);
            padLeft = pad;
        }
        // The bottom/right padding that makes oneDNN's output size DL4J's: larger than the top/left
        // one in Same mode, smaller when Truncate drops trailing rows.
        long[] padRight = new long[2];
        for (int i = 0; i < 2; i++) {
            padRight[i] = (long) (outSize[i] - 1) * strides[i] + kernel[i] - inSize[i] - padLeft[i];
        }
        long[] src = input.shape();
        long[] dst = {src[0], weights.size(0), outSize[0], outSize[1]};
        List<Long> key = List.of(src[0], src[1], src[2], src[3], dst[1], (long) kernel[0], (long) kernel[1],
                (long) strides[0], (long) strides[1], (long) padLeft[0], (long) padLeft[1], padRight[0], padRight[1],
                bias == null ? 0L : 1L);
        Plan plan = plans.get(key);
        if (plan == null && !plans.containsKey(key)) {
            plan = Plan.create(src, weights.shape(), dst, bias != null, strides, padLeft, padRight);
            plans.put(key, plan); // null: oneDNN turned the shape down, libnd4j's helper runs it
        }
        if (plan == null) {
            return super.preOutput(input, weights, bias, kernel, strides, pad, mode, fwdAlgo, convolutionMode,
                    dilation, format, workspaceMgr);
        }
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, DataType.FLOAT, dst);
        plan.run(ChannelKernels.contiguous(input), ChannelKernels.contiguous(weights),
                bias == null ? null : ChannelKernels.contiguous(bias), out);
        return out;
    }

    /**
     * Per-thread buffers for data in oneDNN's blocked layout, grown to the largest convolution seen:
     * one set for all layers, since each call converts into them, runs and converts back.
     */
    private static final class Scratch {
        private final BytePointer[] buffers = new BytePointer[3];

        /** A 64-byte-aligned buffer of at least {@code bytes} for slot {@code i}. */
        Pointer get(int i, long bytes) {
            if (buffers[i] == null || buffers[i].capacity() < bytes + 64) {
                if (buffers[i] != null) {
                    buffers[i].deallocate();
                }
                buffers[i] = new BytePointer(bytes + 64);
            }
            return ChannelKernels.at((buffers[i].address() + 63) & ~63L);
        }
    }

    /** One convolution shape: the primitive, the conversions around it and their arguments, built once. */
    private static final class Plan {
        private final memory userSrc;
        private final memory userWeights;
        private final memory userBias;
        private final memory userDst;
        private final Step[] steps;

        private record Step(primitive primitive, IntMemoryMap args) {
        }

        /** oneDNN's own memory for a blocked operand and the scratch slot its data goes to; null if plain. */
        private final memory[] blocked;

        private Plan(memory userSrc, memory userWeights, memory userBias, memory userDst, memory[] blocked,
                Step[] steps) {
            this.userSrc = userSrc;
            this.userWeights = userWeights;
            this.userBias = userBias;
            this.userDst = userDst;
            this.blocked = blocked;
            this.steps = steps;
        }

        /** The plan for this shape, or null when oneDNN cannot run it. */
        static Plan create(long[] src, long[] weights, long[] dst, boolean hasBias, int[] strides, int[] padLeft,
                long[] padRight) {
            try {
                var f32 = memory.data_type.f32;
                var any = memory.format_tag.any;
                boolean pointwise = weights[2] == 1 && weights[3] == 1 && strides[0] == 1 && strides[1] == 1
                        && padLeft[0] == 0 && padLeft[1] == 0 && padRight[0] == 0 && padRight[1] == 0;
                memory.desc srcPlain = new memory.desc(src, f32, memory.format_tag.nchw);
                memory.desc dstPlain = new memory.desc(dst, f32, memory.format_tag.nchw);
                memory.desc weightsPlain = new memory.desc(weights, f32, memory.format_tag.oihw);
                memory.desc biasPlain = hasBias ? new memory.desc(new long[] {dst[1]}, f32, memory.format_tag.a)
                        : new memory.desc();
                // 1x1 stride-1 convolutions run fastest on the plain arrays, as a matrix product; the
                // others in oneDNN's blocked layout (ConvOps, DenseNet-121 at batch 1 and 8).
                var desc = new convolution_forward.desc(dnnl.prop_kind.forward_inference,
                        dnnl.algorithm.convolution_direct,
                        pointwise ? srcPlain : new memory.desc(src, f32, any),
                        new memory.desc(weights, f32, any), biasPlain,
                        pointwise ? dstPlain : new memory.desc(dst, f32, any),
                        new long[] {strides[0], strides[1]}, new long[] {padLeft[0], padLeft[1]}, padRight);
                var pd = new convolution_forward.primitive_desc(desc, OneDnn.ENGINE);

                memory userSrc = OneDnn.unbound(srcPlain);
                memory userWeights = OneDnn.unbound(weightsPlain);
                memory userBias = hasBias ? OneDnn.unbound(biasPlain) : null;
                memory userDst = OneDnn.unbound(dstPlain);
                memory[] blocked = new memory[3];
                memory convSrc = operand(pd.src_desc(), srcPlain, userSrc, blocked, 0);
                memory convWeights = operand(pd.weights_desc(), weightsPlain, userWeights, blocked, 1);
                memory convDst = operand(pd.dst_desc(), dstPlain, userDst, blocked, 2);

                IntMemoryMap convArgs = OneDnn.args(dnnl.DNNL_ARG_SRC, convSrc, dnnl.DNNL_ARG_WEIGHTS, convWeights,
                        dnnl.DNNL_ARG_DST, convDst);
                if (hasBias) {
                    convArgs.put(dnnl.DNNL_ARG_BIAS, userBias);
                }
                Step[] steps = new Step[] {
                    conversion(userSrc, blocked[0]),
                    conversion(userWeights, blocked[1]),
                    new Step(new convolution_forward(pd), convArgs),
                    conversion(blocked[2], userDst),
                };
                return new Plan(userSrc, userWeights, userBias, userDst, blocked,
                        java.util.Arrays.stream(steps).filter(java.util.Objects::nonNull).toArray(Step[]::new));
            } catch (RuntimeException e) { // oneDNN's error: this shape is not for it
                return null;
            }
        }

        /** The operand the convolution reads or writes: the user's array, or a blocked one in scratch. */
        private static memory operand(memory.desc wanted, memory.desc plain, memory user, memory[] blocked, int slot) {
            if (wanted.equals(plain)) {
                return user;
            }
            blocked[slot] = OneDnn.unbound(wanted);
            return blocked[slot];
        }

        /** A reorder from one memory to another, or null when there is nothing to convert. */
        private static Step conversion(memory from, memory to) {
            if (from == null || to == null) {
                return null;
            }
            return new Step(new reorder(from, to), OneDnn.args(dnnl.DNNL_ARG_FROM, from, dnnl.DNNL_ARG_TO, to));
        }

        void run(INDArray input, INDArray weights, INDArray bias, INDArray out) {
            userSrc.set_data_handle(ChannelKernels.pointer(input));
            userWeights.set_data_handle(ChannelKernels.pointer(weights));
            if (userBias != null) {
                userBias.set_data_handle(ChannelKernels.pointer(bias));
            }
            userDst.set_data_handle(ChannelKernels.pointer(out));
            Scratch scratch = SCRATCH.get();
            for (int i = 0; i < blocked.length; i++) {
                if (blocked[i] != null) {
                    blocked[i].set_data_handle(scratch.get(i, blocked[i].get_desc().get_size()));
                }
            }
            stream s = OneDnn.STREAM.get();
            for (Step step : steps) {
                step.primitive().execute(s, step.args());
            }
            s._wait();
        }
    }
}
