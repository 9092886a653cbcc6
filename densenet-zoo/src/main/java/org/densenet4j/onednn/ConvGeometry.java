package org.densenet4j.onednn;

import java.util.ArrayList;
import java.util.List;

import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.util.ConvolutionUtils;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A convolution's (or pooling window's) shapes in oneDNN's terms, with DL4J's output size and
 * padding: NCHW activations, [out, in, kH, kW] weights, no dilation. Shared by
 * the DL4J convolution helper and the compiled engines.
 */
public record ConvGeometry(long[] src, long[] weights, long[] dst, long[] strides, long[] padLeft, long[] padRight) {

    /**
     * The geometry of a layer's call, or null for what oneDNN is not asked to run (NHWC, dilated, causal, not float).
     */
    public static ConvGeometry of(INDArray input, INDArray weights, int[] kernel, int[] strides, int[] pad,
            ConvolutionMode mode, int[] dilation, CNN2DFormat format) {
        if (format != CNN2DFormat.NCHW || input.rank() != 4 || input.dataType() != DataType.FLOAT
                || weights.dataType() != DataType.FLOAT || dilation[0] != 1 || dilation[1] != 1
                || mode == ConvolutionMode.Causal || kernel[0] != weights.size(2) || kernel[1] != weights.size(3)) {
            return null;
        }
        return of(input.shape(), weights.shape(), strides, pad, mode);
    }

    /**
     * The geometry of a window of {@code weights[2] x weights[3]} over {@code src} (NCHW), as DL4J
     * sizes it: in Same mode {@code ceil(in / stride)} outputs with the padding split as DL4J splits
     * it, otherwise {@code (in + 2 pad - k) / stride + 1} with {@code pad} on both sides (Truncate drops
     * what does not fit; Strict is Truncate on sizes that fit).
     */
    public static ConvGeometry of(long[] src, long[] weights, int[] strides, int[] pad, ConvolutionMode mode) {
        int[] kernel = {(int) weights[2], (int) weights[3]};
        int[] inSize = {(int) src[2], (int) src[3]};
        int[] outSize = new int[2];
        int[] padLeft;
        if (mode == ConvolutionMode.Same) {
            for (int i = 0; i < 2; i++) {
                outSize[i] = (inSize[i] + strides[i] - 1) / strides[i];
            }
            padLeft = ConvolutionUtils.getSameModeTopLeftPadding(outSize, inSize, kernel, strides, new int[] {1, 1});
        } else {
            for (int i = 0; i < 2; i++) {
                outSize[i] = (inSize[i] + 2 * pad[i] - kernel[i]) / strides[i] + 1;
            }
            padLeft = pad;
        }
        // The bottom/right padding that makes oneDNN's output size DL4J's: larger than the top/left
        // one in Same mode, smaller when Truncate drops trailing rows.
        long[] padRight = new long[2];
        for (int i = 0; i < 2; i++) {
            padRight[i] = (long) (outSize[i] - 1) * strides[i] + kernel[i] - inSize[i] - padLeft[i];
        }
        return new ConvGeometry(src, weights, new long[] {src[0], weights[0], outSize[0], outSize[1]},
                new long[] {strides[0], strides[1]}, new long[] {padLeft[0], padLeft[1]}, padRight);
    }

    /** The window's height and width. */
    public long[] kernel() {
        return new long[] {weights[2], weights[3]};
    }

    /** Whether the window leaves no output (an input smaller than the kernel). */
    public boolean empty() {
        return dst[2] < 1 || dst[3] < 1;
    }

    public List<Long> key(boolean backward, boolean hasBias) {
        List<Long> key = new ArrayList<>();
        for (long[] part : new long[][] {src, weights, dst, strides, padLeft, padRight}) {
            for (long v : part) {
                key.add(v);
            }
        }
        key.add(backward ? 1L : 0L);
        key.add(hasBias ? 1L : 0L);
        return key;
    }

    /** 1x1 stride-1 unpadded: oneDNN runs these fastest on the plain arrays, as a matrix product. */
    public boolean pointwise() {
        return weights[2] == 1 && weights[3] == 1 && strides[0] == 1 && strides[1] == 1 && padLeft[0] == 0
                && padLeft[1] == 0 && padRight[0] == 0 && padRight[1] == 0;
    }

    /** An activation-shaped array as DL4J holds it: NCHW. */
    public memory.desc plain(long[] shape) {
        return new memory.desc(shape, memory.data_type.f32, memory.format_tag.nchw);
    }

    /** The weights as DL4J holds them: [out, in, kH, kW]. */
    public memory.desc plainWeights() {
        return new memory.desc(weights, memory.data_type.f32, memory.format_tag.oihw);
    }

    /** The layout a primitive is asked for on activations: plain for pointwise convolutions, else oneDNN's choice. */
    public memory.desc wanted(long[] shape) {
        return pointwise() ? plain(shape) : new memory.desc(shape, memory.data_type.f32, memory.format_tag.any);
    }

    public memory.desc bias() {
        return new memory.desc(new long[] {dst[1]}, memory.data_type.f32, memory.format_tag.a);
    }

    public convolution_forward.primitive_desc forward(dnnl.prop_kind kind, boolean hasBias) {
        return new convolution_forward.primitive_desc(new convolution_forward.desc(kind,
                dnnl.algorithm.convolution_direct, wanted(src),
                new memory.desc(weights, memory.data_type.f32, memory.format_tag.any),
                hasBias ? bias() : new memory.desc(), wanted(dst), strides, padLeft, padRight), OneDnn.ENGINE);
    }

    /** This geometry, or an error naming {@code layer} when its window does not fit the input. */
    public ConvGeometry fitting(String layer) {
        if (empty()) {
            throw new IllegalArgumentException("layer '" + layer + "': input of " + src[2] + "x" + src[3]
                    + " is smaller than its " + weights[2] + "x" + weights[3] + " window");
        }
        return this;
    }
}
